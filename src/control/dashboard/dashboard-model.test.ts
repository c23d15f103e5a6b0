import { describe, expect, it } from 'vitest';
import type { HostStatus } from '../../host/host-status.ts';
import { HEARTBEAT_LATE_MS, describeEvent, formatAge, parseSessions, toDashboardModel } from './dashboard-model.ts';

const NOW = 1_800_000_000_000;

function status(overrides: Partial<HostStatus> = {}): HostStatus {
  return {
    node: { id: 'node-b', role: 'replica', primary: 'node-a', mode: 'cluster', version: '0.1.0', startedAt: NOW - 10_000, state: 'running', url: 'http://127.0.0.1:2' },
    shardCount: 4,
    shards: [
      { shardId: 1, shardCount: 2, generation: 0, mode: 'live', caughtUp: true, closeCode: null, epoch: 2, status: 'ready', sessionId: 's1', seq: 120, readySince: NOW - 5_000, events: 10, identifies: 0, resumes: 1, reconnects: 0, heartbeatMs: 3, eventsByType: {} },
    ],
    nodes: [
      { id: 'node-a', url: 'http://127.0.0.1:1', version: '0.1.0', startedAt: NOW - 20_000, lastHeartbeatAt: NOW - 400, draining: false },
      { id: 'node-b', url: 'http://127.0.0.1:2', version: '0.1.0', startedAt: NOW - 20_000, lastHeartbeatAt: NOW - 600, draining: true },
      { id: 'node-c', url: 'http://127.0.0.1:3', version: '0.1.0', startedAt: NOW - 20_000, lastHeartbeatAt: NOW - HEARTBEAT_LATE_MS - 1, draining: false },
    ],
    assignments: [
      { shardId: 0, nodeId: 'node-a', epoch: 1, state: 'assigned', updatedAt: NOW - 9_000 },
      { shardId: 1, nodeId: 'node-b', epoch: 2, state: 'assigned', updatedAt: NOW - 9_000 },
      { shardId: 2, nodeId: 'node-c', epoch: 1, state: 'assigned', updatedAt: NOW - 9_000 },
    ],
    identify: null,
    funnel: null,
    forwarder: null,
    queries: null,
    botQueries: null,
    eventLoop: { stalls: 0, stalledMs: 0, maxStallMs: 0, lastStallMs: null, lastStallAt: null, busyStalls: 0, maxBusyStallMs: 0 },
    events: [],
    ...overrides,
  };
}

describe('dashboard model', () => {
  it('puts every shard under its node, with live stats for local shards and committed ones elsewhere', () => {
    const model = toDashboardModel(status(), [{ shardId: 0, seq: 77, updatedAt: NOW - 1_500 }, { shardId: 1, seq: 100, updatedAt: NOW - 100 }], NOW)!;
    expect(model.nodes.map((n) => [n.id, n.shards.map((s) => s.shardId)])).toEqual([
      ['node-a', [0]],
      ['node-b', [1]],
      ['node-c', [2]],
    ]);
    const [a, b, c] = model.nodes;
    expect(a).toMatchObject({ isPrimary: true, isSelf: false, late: false });
    expect(b).toMatchObject({ isPrimary: false, isSelf: true, draining: true });
    expect(c).toMatchObject({ late: true });
    expect(b!.shards[0]).toMatchObject({ state: 'ready', seq: 120, sessionAgeMs: 5_000, sessionAgeKind: 'session', local: true });
    expect(a!.shards[0]).toMatchObject({ state: 'assigned', seq: 77, sessionAgeMs: 1_500, sessionAgeKind: 'last commit', local: false });
    expect(model.unassigned.map((s) => s.shardId)).toEqual([3]);
  });

  it("shows this node's event-loop stalls, flagged while the last one is under a minute old", () => {
    expect(toDashboardModel(status(), [], NOW)!.eventLoop).toEqual({ stalls: 0, maxStallMs: 0, lastStallAgoMs: null, recent: false });
    const stalled = (ago: number) => status({ eventLoop: { stalls: 3, stalledMs: 4_000, maxStallMs: 2_300, lastStallMs: 900, lastStallAt: NOW - ago, busyStalls: 3, maxBusyStallMs: 2_300 } });
    expect(toDashboardModel(stalled(5_000), [], NOW)!.eventLoop).toEqual({ stalls: 3, maxStallMs: 2_300, lastStallAgoMs: 5_000, recent: true });
    expect(toDashboardModel(stalled(120_000), [], NOW)!.eventLoop).toMatchObject({ recent: false });
  });

  it('answers null for anything that is not a host status', () => {
    expect(toDashboardModel({ node: 'n1' }, [], NOW)).toBeNull();
    expect(toDashboardModel(null, [], NOW)).toBeNull();
  });

  it('describes cluster events in words', () => {
    const base = { id: 1, at: NOW, nodeId: 'node-b', shardId: 3 };
    expect(describeEvent({ ...base, kind: 'move', detail: { from: 'node-a', to: 'node-b', seq: 9, reason: 'manual' } })).toBe('shard 3 moved node-a → node-b by resume at seq 9 (manual)');
    expect(describeEvent({ ...base, kind: 'failover', detail: { from: 'node-c', epoch: 4 } })).toBe('shard 3 failed over from node-c to node-b (epoch 4)');
    expect(describeEvent({ ...base, shardId: null, kind: 'dead', detail: { silentMs: 5_200 } })).toBe('node-b declared dead: silent for 5 s');
    expect(describeEvent({ ...base, kind: 'takeover', detail: {} })).toBe('node-b became the primary and took over coordination');
    expect(describeEvent({ ...base, shardId: null, kind: 'leave', detail: { shards: 4 } })).toBe('node-b is leaving (told to stop): its 4 shards move elsewhere by resume');
    expect(describeEvent({ ...base, shardId: null, kind: 'left', detail: { shards: 0 } })).toBe('node-b left the cluster');
    expect(describeEvent({ ...base, shardId: null, kind: 'left', detail: { shards: 2 } })).toBe('node-b left the cluster; 2 shards it still held fail over by resume');
    expect(describeEvent({ ...base, kind: 'something-new', detail: { x: 1 } })).toBe('something-new node-b shard 3 {"x":1}');
  });

  it('formats ages and reads session rows, skipping bad ones', () => {
    expect([formatAge(850), formatAge(12_400), formatAge(240_000), formatAge(3_900_000)]).toEqual(['850 ms', '12 s', '4 min', '1 h 5 min']);
    expect(parseSessions({ columns: ['shard_id', 'seq', 'updated_at'], rows: [[0, 5, NOW], ['x', 1, 2]] })).toEqual([{ shardId: 0, seq: 5, updatedAt: NOW }]);
    expect(parseSessions({ columns: ['n'], rows: [[1]] })).toEqual([]);
  });
});

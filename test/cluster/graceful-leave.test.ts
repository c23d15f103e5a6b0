import { afterEach, describe, expect, it } from 'vitest';
import type { LeaveReport } from '../../src/host.ts';
import { ADMIN_TOKEN, SimCluster, type SimClusterNode, type SimClusterOptions } from '../helpers/sim-cluster.ts';
import { handledBy } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NODES = ['node-a', 'node-b', 'node-c'];
const SHARDS = [0, 1, 2, 3, 4, 5];
/** Long enough that only the leave itself (or a second signal) ends it, never the deadline. */
const NO_DEADLINE_MS = 600_000;

interface EventRow {
  readonly kind: string;
  readonly nodeId: string | null;
  readonly shardId: number | null;
  readonly detail: Record<string, unknown>;
}

// Contract 11: a node told to stop hands its lease and shards on by itself. leave() is what the
// CLI runs on SIGINT/SIGTERM; these drive it on the simulated cluster under traffic.
describe('graceful leave on a 3-node simulated-LiteFS cluster', () => {
  let cluster: SimCluster;

  afterEach(async () => {
    await cluster?.close();
  });

  async function start(options: SimClusterOptions = {}): Promise<SimCluster> {
    cluster = await new SimCluster({ shardCount: SHARDS.length, discord: { maxConcurrency: SHARDS.length }, ...options }).start(NODES);
    await waitFor(
      () => cluster.running().size === SHARDS.length && NODES.every((id) => cluster.node(id).host.readiness().ready && cluster.node(id).host.runners().length > 0 && cluster.node(id).host.status().nodes.length === 3),
      { timeoutMs: 60_000, message: 'cluster ready, every node running shards' },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${cluster.dump()}`);
    });
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.recorded.length > 100);
    return cluster;
  }

  /** Every shard runs on exactly one of `nodes` and is ready there. */
  async function runningOn(nodes: readonly SimClusterNode[]): Promise<void> {
    await waitFor(() => SHARDS.every((s) => nodes.filter((n) => n.host.runner(s)?.shard.status === 'ready').length === 1), {
      timeoutMs: 30_000,
      message: 'every shard ready on exactly one remaining node',
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${cluster.dump()}`);
    });
  }

  /** Stops the traffic, waits until every event was handled, and checks the ledger of every shard. */
  async function expectNothingLostOrTwice(): Promise<void> {
    const handled = cluster.recorded.length;
    await waitFor(() => cluster.recorded.length > handled + 100, { message: 'traffic flows after the leave' });
    cluster.discord.traffic.stop();
    await waitFor(() => SHARDS.every((s) => cluster.discord.ledger.check(s, handledBy(cluster.recorded, s)).lost.length === 0), {
      timeoutMs: 30_000,
      message: 'every event handled',
    }).catch(() => {});
    for (const s of SHARDS) {
      const check = cluster.discord.ledger.check(s, handledBy(cluster.recorded, s));
      expect(check.lost, `shard ${s} lost`).toEqual([]);
      expect(check.duplicated, `shard ${s} duplicated`).toEqual([]);
    }
  }

  function events(node: SimClusterNode): EventRow[] {
    return node.host.query('select kind, node_id, shard_id, detail from cluster_events order by id').rows.map(([kind, nodeId, shardId, detail]) => ({
      kind: String(kind),
      nodeId: (nodeId as string | null) ?? null,
      shardId: shardId === null ? null : Number(shardId),
      detail: JSON.parse(String(detail)) as Record<string, unknown>,
    }));
  }

  /** LEAVE, then one MOVE per shard the node ran (reason 'leave'), then LEFT, in the primary's event log. */
  function expectLeaveEvents(primary: SimClusterNode, leaver: string, shards: readonly number[]): void {
    const log = events(primary);
    const leave = log.findLastIndex((e) => e.kind === 'leave' && e.nodeId === leaver);
    const left = log.findLastIndex((e) => e.kind === 'left' && e.nodeId === leaver);
    expect(leave, JSON.stringify(log.slice(-20))).toBeGreaterThanOrEqual(0);
    expect(left).toBeGreaterThan(leave);
    const moves = log.slice(leave, left).filter((e) => e.kind === 'move' && e.detail['from'] === leaver);
    expect(moves.map((m) => m.shardId).sort()).toEqual([...shards].sort());
    expect(moves.every((m) => m.detail['reason'] === 'leave' && m.nodeId !== leaver)).toBe(true);
    expect(log[left]!.detail).toEqual({ shards: 0 });
  }

  it('a replica leaves under traffic: each of its shards moves by resume, nothing lost or twice, no IDENTIFY', async () => {
    await start();
    const identifies = cluster.discord.stats.identifies;
    const primary = cluster.primary()!;
    const leaver = cluster.node(NODES.find((id) => id !== primary.id)!);
    const shards = leaver.host.runners().map((r) => r.shardId);

    const report = await leaver.host.leave({ timeoutMs: NO_DEADLINE_MS });
    expect(report).toMatchObject({ outcome: 'left', shards: shards.length, leftover: 0, primaryHandoffMs: null, newPrimary: null });
    expect(leaver.host.status().node.state).toBe('closed');

    const rest = NODES.filter((id) => id !== leaver.id).map((id) => cluster.node(id));
    await runningOn(rest);
    expect(primary.host.primary?.coordinator.running).toBe(true);
    expectLeaveEvents(primary, leaver.id, shards);
    // The node's log says how long it took.
    expect(cluster.log.lines().some((l) => l['node'] === leaver.id && l['msg'] === 'left the cluster: every shard moved by resume' && typeof l['tookMs'] === 'number')).toBe(true);
    await expectNothingLostOrTwice();
    expect(cluster.discord.stats.identifies).toBe(identifies);
    const metrics = await (await fetch(`${primary.host.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(metrics).toContain(`shardline_shard_moves_total{reason="leave"} ${shards.length}`);
    // The dashboard lists the same events (it renders GET /status's).
    expect(primary.host.status().events.filter((e) => e.nodeId === leaver.id || e.detail['from'] === leaver.id).map((e) => e.kind)).toEqual(expect.arrayContaining(['leave', 'move', 'left']));
  });

  it('the primary leaves under traffic: the lease and the coordinator move first, then its shards, nothing lost or twice, no IDENTIFY', async () => {
    await start();
    const identifies = cluster.discord.stats.identifies;
    const leaver = cluster.primary()!;
    const shards = leaver.host.runners().map((r) => r.shardId);

    const report = await leaver.host.leave({ timeoutMs: NO_DEADLINE_MS });
    expect(report).toMatchObject({ outcome: 'left', shards: shards.length, leftover: 0 });
    expect(report.newPrimary).not.toBeNull();
    expect(report.primaryHandoffMs).toBeGreaterThanOrEqual(0);

    const newPrimary = cluster.node(report.newPrimary!);
    expect(newPrimary.id).not.toBe(leaver.id);
    expect(newPrimary.host.isPrimary).toBe(true);
    expect(newPrimary.host.primary?.coordinator.running).toBe(true);
    const rest = NODES.filter((id) => id !== leaver.id).map((id) => cluster.node(id));
    await runningOn(rest);
    expectLeaveEvents(newPrimary, leaver.id, shards);
    // The old primary's queued writes reached the new one: every shard's committed seq keeps up with what was handled.
    await expectNothingLostOrTwice();
    expect(cluster.discord.stats.identifies).toBe(identifies);
    // Every session is committed up to the last event handled in it: no write of the old primary was dropped.
    await waitFor(() => newPrimary.host.query('select shard_id, session_id, seq from shard_sessions').rows.every(([shardId, sessionId, seq]) => {
      const handled = cluster.recorded.filter((r) => r.shardId === Number(shardId) && r.sessionId === sessionId).map((r) => r.seq);
      return handled.length > 0 && Number(seq) === Math.max(...handled);
    }), { message: 'every session committed up to what was handled' });
  });

  it('a second signal mid-leave stops at once, and the shards resume elsewhere with nothing lost', async () => {
    // No drain moves run, so the leave can only end by its signal.
    await start({ timing: { maxConcurrentDrainMoves: 0 } });
    const identifies = cluster.discord.stats.identifies;
    const primary = cluster.primary()!;
    const leaver = cluster.node(NODES.find((id) => id !== primary.id)!);
    const shards = leaver.host.runners().map((r) => r.shardId);

    const second = new AbortController();
    const leaving = leaver.host.leave({ timeoutMs: NO_DEADLINE_MS, signal: second.signal });
    await waitFor(() => events(primary).some((e) => e.kind === 'leave' && e.nodeId === leaver.id), { message: 'the primary heard of the leave' });
    second.abort();
    const report: LeaveReport = await leaving;
    expect(report).toMatchObject({ outcome: 'interrupted', shards: shards.length, leftover: shards.length });
    expect(leaver.host.status().node.state).toBe('closed');

    // Stopped as a plain stop: detached, sessions committed; the primary fails them over by resume after nodeTimeout.
    const rest = NODES.filter((id) => id !== leaver.id).map((id) => cluster.node(id));
    await runningOn(rest);
    await expectNothingLostOrTwice();
    expect(cluster.discord.stats.identifies).toBe(identifies);
  });

  it('a leave past its deadline detaches the rest resumably, and they fail over by resume at once', async () => {
    await start({ timing: { maxConcurrentDrainMoves: 0 } });
    const identifies = cluster.discord.stats.identifies;
    const primary = cluster.primary()!;
    const leaver = cluster.node(NODES.find((id) => id !== primary.id)!);
    const shards = leaver.host.runners().map((r) => r.shardId);

    const report = await leaver.host.leave({ timeoutMs: 200 });
    expect(report).toMatchObject({ outcome: 'deadline', shards: shards.length, leftover: shards.length });

    const rest = NODES.filter((id) => id !== leaver.id).map((id) => cluster.node(id));
    await runningOn(rest);
    const log = events(primary);
    const left = log.findLastIndex((e) => e.kind === 'left' && e.nodeId === leaver.id);
    expect(log[left]?.detail).toEqual({ shards: shards.length });
    // Failed over as soon as the node said it left (not after nodeTimeout: no 'dead' event), each by RESUME.
    expect(log.some((e) => e.kind === 'dead' && e.nodeId === leaver.id)).toBe(false);
    expect(log.slice(left).filter((e) => e.kind === 'failover' && e.detail['from'] === leaver.id).map((e) => e.shardId).sort()).toEqual([...shards].sort());
    for (const s of shards) expect(cluster.log.lines().some((l) => l['shardId'] === s && l['node'] !== leaver.id && l['msg'] === 'starting shard by RESUME')).toBe(true);
    await expectNothingLostOrTwice();
    expect(cluster.discord.stats.identifies).toBe(identifies);

    // The node comes back as a new process: it joins and takes shards again.
    await cluster.startHost(leaver.id);
    await waitFor(() => cluster.node(leaver.id).host.runners().length > 0, { timeoutMs: 30_000, message: 'the restarted node takes shards again' });
  });

  it('shows the leave in /metrics on the leaving node while it runs', async () => {
    await start({ timing: { maxConcurrentDrainMoves: 0 } });
    const primary = cluster.primary()!;
    const leaver = cluster.node(NODES.find((id) => id !== primary.id)!);
    const shards = leaver.host.runners().length;
    const second = new AbortController();
    const leaving = leaver.host.leave({ timeoutMs: NO_DEADLINE_MS, signal: second.signal });
    try {
      const text = await waitFor(async () => {
        const res = await fetch(`${leaver.host.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const body = await res.text();
        return body.includes('shardline_leaving{phase="drain"} 1') ? body : null;
      }, { message: '/metrics shows the leave' });
      expect(text).toContain(`shardline_leave_shards_remaining ${shards}`);
      expect(text).toMatch(/shardline_leave_elapsed_seconds \d/);
      expect(leaver.host.status().node.state).toBe('leaving');
      expect(leaver.host.readiness().ready).toBe(false);
    } finally {
      second.abort();
      await leaving;
    }
  });

  it('a node with no other live node stops as before, and says so', async () => {
    cluster = await new SimCluster({ shardCount: 2, discord: { maxConcurrency: 2 } }).start(['node-a']);
    const node = cluster.node('node-a');
    await waitFor(() => node.host.runners().length === 2 && node.host.runners().every((r) => r.shard.status === 'ready'), { timeoutMs: 30_000 });
    const report = await node.host.leave({ timeoutMs: NO_DEADLINE_MS });
    expect(report).toMatchObject({ outcome: 'alone', shards: 2, leftover: 2 });
    expect(cluster.log.lines().some((l) => l['msg']?.toString().startsWith('no other live node to leave to'))).toBe(true);
    // Detached resumably with the sessions committed, as a plain stop does.
    expect(node.host.status().node.state).toBe('closed');
  });
});

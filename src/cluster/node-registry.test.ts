import { describe, expect, it } from 'vitest';
import { NodeRegistry } from './node-registry.ts';

const beat = (nodeId: string) => ({ nodeId, url: `http://${nodeId}`, version: 't', startedAt: 7, shards: [] });

describe('NodeRegistry', () => {
  it('tells a join from a rejoin from a routine heartbeat, and keeps draining across heartbeats', () => {
    const nodes = new NodeRegistry({ timeoutMs: 1_000, tickMs: 100 });
    expect(nodes.heartbeat(beat('a'), 0)).toEqual(['join']);
    expect(nodes.heartbeat(beat('a'), 100)).toEqual([]);
    nodes.setDraining('a', true);
    nodes.heartbeat(beat('a'), 200);
    expect(nodes.status('a')).toBe('draining');
    for (let t = 300; t <= 1_300; t += 100) nodes.sweep(t);
    expect(nodes.status('a')).toBe('dead');
    expect(nodes.heartbeat(beat('a'), 1_400)).toEqual(['rejoin']);
    expect(nodes.status('a')).toBe('draining');
    expect(() => nodes.setDraining('zz', true)).toThrow(/Cannot drain node zz: no such node/);
  });

  it('drains a leaving node, forgets it once it left, and takes its next process as a newcomer', () => {
    const nodes = new NodeRegistry({ timeoutMs: 1_000, tickMs: 100 });
    nodes.heartbeat(beat('a'), 0);
    nodes.heartbeat(beat('b'), 0);
    expect(nodes.heartbeat({ ...beat('a'), leaving: 'leaving' }, 100)).toEqual(['leave']);
    expect(nodes.heartbeat({ ...beat('a'), leaving: 'leaving' }, 200)).toEqual([]);
    // The same process never stops leaving, even if a heartbeat sent before it began arrives late.
    expect(nodes.heartbeat(beat('a'), 250)).toEqual([]);
    expect(nodes.status('a')).toBe('leaving');
    expect(nodes.markLeaving('a')).toBe(false);
    expect(nodes.placementNodes()).toEqual([
      { id: 'a', alive: true, draining: true },
      { id: 'b', alive: true, draining: false },
    ]);
    expect(nodes.heartbeat({ ...beat('a'), leaving: 'left' }, 300)).toEqual(['left']);
    expect(nodes.status('a')).toBe('left');
    expect(nodes.placementNodes()[0]).toEqual({ id: 'a', alive: false, draining: true });
    // A heartbeat of the same process delivered after its 'left' changes nothing; nor does the sweep.
    expect(nodes.heartbeat({ ...beat('a'), leaving: 'leaving' }, 350)).toEqual([]);
    for (let t = 400; t <= 2_000; t += 100) expect(nodes.sweep(t).map((d) => d.nodeId)).not.toContain('a');
    // The restarted process (another startedAt) joins afresh and takes shards.
    expect(nodes.heartbeat({ ...beat('a'), startedAt: 99 }, 2_100)).toEqual(['join']);
    expect(nodes.status('a')).toBe('alive');
    // A leaving primary's successor is told before the leaver's own heartbeats arrive.
    nodes.heartbeat(beat('b'), 2_120);
    expect(nodes.markLeaving('b')).toBe(true);
    expect(nodes.status('b')).toBe('leaving');
    expect(nodes.heartbeat({ ...beat('b'), leaving: 'leaving' }, 2_150)).toEqual([]);
    expect(nodes.markLeaving('nobody')).toBe(false);
    // A node that starts leaving as it is heard of for the first time.
    expect(nodes.heartbeat({ ...beat('c'), leaving: 'leaving' }, 2_200)).toEqual(['join', 'leave']);
  });

  it('gives persisted nodes and owners without a row the grace of a full timeout', () => {
    const nodes = new NodeRegistry({ timeoutMs: 1_000, tickMs: 100 });
    nodes.load([{ id: 'a', url: 'http://a', version: 't', startedAt: 0, lastHeartbeatAt: -50_000, draining: true }], ['a', 'b'], 10_000);
    expect(nodes.placementNodes()).toEqual([
      { id: 'a', alive: true, draining: true },
      { id: 'b', alive: true, draining: false },
    ]);
    expect(nodes.sweep(10_900)).toEqual([]);
    for (let t = 11_000; t < 11_100; t += 100) nodes.sweep(t);
    expect(nodes.sweep(11_100).map((d) => d.nodeId)).toEqual(['a', 'b']);
  });

  it('does not count its own stall as silence, but does count real silence', () => {
    const nodes = new NodeRegistry({ timeoutMs: 1_000, tickMs: 100 });
    nodes.heartbeat(beat('a'), 0);
    nodes.heartbeat(beat('b'), 0);
    nodes.sweep(100);
    expect(nodes.sweep(5_000)).toEqual([]); // 4.8 s without a sweep: the process stalled
    // b's heartbeat, sent during the stall, is read right after the late sweep; a sent none.
    nodes.heartbeat(beat('b'), 5_010);
    expect(nodes.sweep(5_100)).toEqual([{ nodeId: 'a', silentMs: 5_100 }]);
    expect(nodes.status('b')).toBe('alive');
  });

  it('regression: on a primary whose every sweep came late (a slow disk), a dead node was declared dead only after nodeTimeout x (tick + lateness) / tick', () => {
    const nodes = new NodeRegistry({ timeoutMs: 1_000, tickMs: 100 });
    nodes.heartbeat(beat('dead'), 0);
    nodes.heartbeat(beat('live'), 0);
    let t = 0;
    const dead: { at: number; nodeId: string }[] = [];
    while (t < 10_000 && dead.length === 0) {
      t += 500; // every sweep 400 ms late
      for (const d of nodes.sweep(t)) dead.push({ at: t, nodeId: d.nodeId });
      // The live node's heartbeat, queued during the stall, is read after the sweep.
      nodes.heartbeat(beat('live'), t + 1);
    }
    expect(dead.map((d) => d.nodeId)).toEqual(['dead']);
    // Silent since 0: dead once a sweep's previous sweep is more than 1 s after that, at most one sweep late.
    expect(dead[0]!.at).toBeLessThanOrEqual(2_000);
  });

  it('hands out the rows heard from since the last write, once', () => {
    const nodes = new NodeRegistry({ timeoutMs: 1_000, tickMs: 100 });
    nodes.heartbeat(beat('a'), 5);
    nodes.heartbeat(beat('b'), 6);
    expect(nodes.hasDirty()).toBe(true);
    expect(nodes.dirtyRows()).toEqual([
      { id: 'a', url: 'http://a', version: 't', startedAt: 7, lastHeartbeatAt: 5 },
      { id: 'b', url: 'http://b', version: 't', startedAt: 7, lastHeartbeatAt: 6 },
    ]);
    nodes.markPersisted(['a', 'b']);
    expect(nodes.hasDirty()).toBe(false);
    nodes.heartbeat(beat('b'), 9);
    expect(nodes.dirtyRows().map((r) => r.id)).toEqual(['b']);
  });
});

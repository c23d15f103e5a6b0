import { describe, expect, it } from 'vitest';
import { planPlacement, type Move, type PlacementNode } from './placement.ts';

const node = (id: string, alive = true, draining = false): PlacementNode => ({ id, alive, draining });

function apply(owners: Map<number, string | null>, moves: Move[]): Map<number, string | null> {
  const next = new Map(owners);
  for (const move of moves) next.set(move.shardId, move.to);
  return next;
}

function counts(owners: Map<number, string | null>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const owner of owners.values()) if (owner !== null) result[owner] = (result[owner] ?? 0) + 1;
  return result;
}

describe('planPlacement', () => {
  it('places 12 shards on 3 nodes, 4 each', () => {
    const moves = planPlacement({ shardCount: 12, owners: new Map(), nodes: [node('a'), node('b'), node('c')] });
    expect(moves).toHaveLength(12);
    expect(moves.every((m) => m.kind === 'place' && m.from === null)).toBe(true);
    expect(counts(apply(new Map(), moves))).toEqual({ a: 4, b: 4, c: 4 });
  });

  it('is sticky: a balanced placement produces no moves', () => {
    const owners = new Map<number, string | null>([[0, 'a'], [1, 'b'], [2, 'c'], [3, 'a'], [4, 'b']]);
    expect(planPlacement({ shardCount: 5, owners, nodes: [node('a'), node('b'), node('c')] })).toEqual([]);
  });

  it('moves only what a dead node held, as failovers, and keeps everything else', () => {
    const owners = new Map<number, string | null>(Array.from({ length: 12 }, (_, i) => [i, ['a', 'b', 'c'][i % 3]!]));
    const moves = planPlacement({ shardCount: 12, owners, nodes: [node('a'), node('b'), node('c', false)] });
    expect(moves.map((m) => m.shardId).sort((x, y) => x - y)).toEqual([2, 5, 8, 11]);
    expect(moves.every((m) => m.kind === 'failover' && m.from === 'c')).toBe(true);
    expect(counts(apply(owners, moves))).toEqual({ a: 6, b: 6 });
  });

  it('empties a draining node by handoff', () => {
    const owners = new Map<number, string | null>([[0, 'a'], [1, 'b'], [2, 'a'], [3, 'b']]);
    const moves = planPlacement({ shardCount: 4, owners, nodes: [node('a', true, true), node('b')] });
    expect(moves).toEqual([
      { shardId: 0, from: 'a', to: 'b', kind: 'handoff' },
      { shardId: 2, from: 'a', to: 'b', kind: 'handoff' },
    ]);
  });

  it('rebalances onto a new node with the fewest moves', () => {
    const owners = new Map<number, string | null>(Array.from({ length: 12 }, (_, i) => [i, i % 2 ? 'b' : 'a']));
    const moves = planPlacement({ shardCount: 12, owners, nodes: [node('a'), node('b'), node('c')] });
    expect(moves).toHaveLength(4);
    expect(moves.every((m) => m.to === 'c' && m.kind === 'handoff')).toBe(true);
    expect(counts(apply(owners, moves))).toEqual({ a: 4, b: 4, c: 4 });
  });

  it('changes nothing when no node is eligible', () => {
    const owners = new Map<number, string | null>([[0, 'a']]);
    expect(planPlacement({ shardCount: 2, owners, nodes: [node('a', false)] })).toEqual([]);
  });

  it('always ends balanced within one shard and converges in one plan (property check)', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 300; round++) {
      const nodeCount = 1 + Math.floor(random() * 6);
      const nodes = Array.from({ length: nodeCount }, (_, i) => node(`n${i}`, random() > 0.2, random() > 0.85));
      const shardCount = Math.floor(random() * 40);
      const owners = new Map<number, string | null>();
      for (let s = 0; s < shardCount; s++) owners.set(s, random() > 0.3 ? `n${Math.floor(random() * (nodeCount + 1))}` : null);
      const moves = planPlacement({ shardCount, owners, nodes });
      const eligible = nodes.filter((n) => n.alive && !n.draining).map((n) => n.id);
      const after = apply(owners, moves);
      if (eligible.length === 0) {
        expect(moves).toEqual([]);
        continue;
      }
      const load = eligible.map((id) => [...after.values()].filter((o) => o === id).length);
      expect(Math.max(...load) - Math.min(...load)).toBeLessThanOrEqual(1);
      expect(load.reduce((a, b) => a + b, 0)).toBe(shardCount);
      expect(new Set(moves.map((m) => m.shardId)).size).toBe(moves.length);
      // A second plan over the result has nothing left to do.
      expect(planPlacement({ shardCount, owners: after, nodes })).toEqual([]);
      // Fewest moves: everything that moved was unowned, on an ineligible node, or above target.
      for (const move of moves) {
        if (move.from !== null && eligible.includes(move.from)) {
          const before = [...owners.values()].filter((o) => o === move.from).length;
          expect(before).toBeGreaterThan(Math.floor(shardCount / eligible.length));
        }
      }
    }
  });
  it('neither places nor moves skipped shards, and balances the rest', () => {
    const owners = new Map<number, string | null>([[0, null], [1, 'a'], [2, null], [3, 'a']]);
    const moves = planPlacement({ shardCount: 4, owners, nodes: [{ id: 'a', alive: true, draining: false }, { id: 'b', alive: true, draining: false }], skip: new Set([0, 2]) });
    expect(moves).toEqual([{ shardId: 3, from: 'a', to: 'b', kind: 'handoff' }]);
    expect(planPlacement({ shardCount: 2, owners: new Map(), nodes: [{ id: 'a', alive: true, draining: false }], skip: new Set([0, 1]) })).toEqual([]);
  });
});

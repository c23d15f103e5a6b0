import { describe, expect, it } from 'vitest';
import { budgetProblem, gcd, groupOf, minimumShards, recommendedCountDue, resolveTarget, switchGroups } from './reshard-plan.ts';

const keyOnShard = (key: number, count: number): number => key % count;

describe('reshard plan', () => {
  it('switches per old shard when the new count is a multiple of the old one', () => {
    const groups = switchGroups(4, 8);
    expect(groups).toEqual([
      { index: 0, oldShards: [0], newShards: [0, 4] },
      { index: 1, oldShards: [1], newShards: [1, 5] },
      { index: 2, oldShards: [2], newShards: [2, 6] },
      { index: 3, oldShards: [3], newShards: [3, 7] },
    ]);
  });

  it('groups by gcd otherwise, down to one group for coprime counts', () => {
    expect(switchGroups(4, 6).map((g) => [g.oldShards, g.newShards])).toEqual([
      [[0, 2], [0, 2, 4]],
      [[1, 3], [1, 3, 5]],
    ]);
    expect(switchGroups(4, 5)).toHaveLength(1);
    expect(switchGroups(8, 4).map((g) => g.newShards)).toEqual([[0], [1], [2], [3]]);
    expect(gcd(12, 18)).toBe(6);
  });

  it('puts every guild of a new shard under old shards of its own group, and nowhere else', () => {
    for (const [from, to] of [[4, 8], [4, 6], [3, 7], [8, 16], [6, 4]] as const) {
      for (let key = 0; key < 500; key++) {
        const oldShard = keyOnShard(key, from);
        const newShard = keyOnShard(key, to);
        expect(groupOf(oldShard, from, to), `${from}->${to} key ${key}`).toBe(groupOf(newShard, from, to));
        const group = switchGroups(from, to)[groupOf(newShard, from, to)]!;
        expect(group.oldShards).toContain(oldShard);
        expect(group.newShards).toContain(newShard);
      }
    }
  });

  it('accepts a valid count and names what is wrong with an invalid one', () => {
    const base = { current: 4, recommended: 6, guilds: 9_000, shardMultiple: 1 };
    expect(resolveTarget({ ...base, requested: 8 })).toEqual({ ok: true, target: 8 });
    expect(resolveTarget({ ...base, requested: 4 })).toMatchObject({ ok: false, reason: expect.stringContaining('already runs 4') });
    expect(resolveTarget({ ...base, requested: 2.5 })).toMatchObject({ ok: false, reason: expect.stringContaining('integer') });
    expect(resolveTarget({ ...base, requested: 0 })).toMatchObject({ ok: false });
    expect(resolveTarget({ ...base, requested: 3 })).toMatchObject({ ok: false, reason: expect.stringContaining('4011') });
    expect(resolveTarget({ ...base, shardMultiple: 16, requested: 24 })).toMatchObject({ ok: false, reason: expect.stringContaining('multiple of 16') });
    expect(resolveTarget({ ...base, shardMultiple: 16, requested: 32 })).toEqual({ ok: true, target: 32 });
  });

  it("resolves 'auto' from the recommended count, the guild cap and the multiple", () => {
    const base = { current: 4, guilds: 9_000, shardMultiple: 1, requested: 'auto' as const };
    expect(resolveTarget({ ...base, recommended: 9 })).toEqual({ ok: true, target: 9 });
    expect(resolveTarget({ ...base, recommended: 9, shardMultiple: 4 })).toEqual({ ok: true, target: 12 });
    expect(resolveTarget({ ...base, recommended: 4 })).toMatchObject({ ok: false, reason: expect.stringContaining('recommends 4') });
    expect(resolveTarget({ ...base, recommended: 4, mustGrow: true })).toEqual({ ok: true, target: 8 });
    expect(resolveTarget({ ...base, recommended: null })).toMatchObject({ ok: false });
    expect(minimumShards(9_000, 1)).toBe(4);
    expect(minimumShards(9_000, 16)).toBe(16);
  });

  it('refuses a new set the identify budget cannot pay for, reserve included', () => {
    expect(budgetProblem({ remaining: 20, reserve: 2, resetAfterMs: 1_000, need: 8 })).toBeNull();
    expect(budgetProblem({ remaining: 10, reserve: 2, resetAfterMs: 1_000, need: 8 })).toBeNull();
    expect(budgetProblem({ remaining: 9, reserve: 2, resetAfterMs: 2 * 3_600_000, need: 8 })).toBe(
      'the new set needs 8 IDENTIFYs and Discord allows 9 more session starts today with 2 kept in reserve (resets in 2.0 h)',
    );
  });

  it('asks for a reshard once the recommended count reaches the threshold', () => {
    expect(recommendedCountDue({ current: 4, recommended: 8, threshold: 2 })).toBe(true);
    expect(recommendedCountDue({ current: 4, recommended: 7, threshold: 2 })).toBe(false);
    expect(recommendedCountDue({ current: 4, recommended: 5, threshold: 1 })).toBe(true);
    expect(recommendedCountDue({ current: 4, recommended: 4, threshold: 1 })).toBe(false);
    expect(recommendedCountDue({ current: 4, recommended: 100, threshold: 0 })).toBe(false);
  });
});

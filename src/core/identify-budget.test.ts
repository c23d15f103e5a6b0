import { describe, expect, it } from 'vitest';
import { IdentifyBudget } from './identify-budget.ts';

const limit = { total: 1000, remaining: 1000, resetAfterMs: 60_000, maxConcurrency: 4 };

describe('IdentifyBudget', () => {
  it('grants one identify per bucket per spacing window, buckets in parallel', () => {
    const budget = new IdentifyBudget(limit, 0, { spacingMs: 5_000, reserve: 0 });
    for (const shard of [0, 1, 2, 3]) expect(budget.request(shard, 0).kind).toBe('grant');
    expect(budget.request(4, 100)).toEqual({ kind: 'wait', bucket: 0, retryAfterMs: 4_900 });
    expect(budget.request(5, 4_999)).toEqual({ kind: 'wait', bucket: 1, retryAfterMs: 1 });
    expect(budget.request(4, 5_000)).toMatchObject({ kind: 'grant', bucket: 0 });
  });

  it('counts down the daily limit and refuses at the reserve, saying why', () => {
    const budget = new IdentifyBudget({ ...limit, remaining: 3, maxConcurrency: 16 }, 0, { reserve: 1 });
    expect(budget.request(0, 0)).toMatchObject({ kind: 'grant', remaining: 2 });
    expect(budget.request(1, 0)).toMatchObject({ kind: 'grant', remaining: 1 });
    const refused = budget.request(2, 0);
    expect(refused.kind).toBe('refuse');
    expect(refused.kind === 'refuse' && refused.reason).toMatch(/1 session starts left today, at or below the reserve of 1; resets in 60 s/);
    expect(budget.snapshot()).toMatchObject({ remaining: 1, granted: 2 });
  });

  it('refills after the reset window', () => {
    const budget = new IdentifyBudget({ ...limit, remaining: 0 }, 0, { reserve: 0 });
    expect(budget.request(0, 59_999).kind).toBe('refuse');
    expect(budget.request(0, 60_000)).toMatchObject({ kind: 'grant', remaining: 999 });
  });

  it('takes Discord figures over its own count', () => {
    const budget = new IdentifyBudget(limit, 0, { reserve: 10 });
    budget.update({ ...limit, remaining: 5 }, 1_000);
    expect(budget.request(0, 1_000).kind).toBe('refuse');
  });
});

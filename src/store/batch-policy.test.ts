import { describe, expect, it } from 'vitest';
import { batchRowsLimit, nextFlushAt } from './batch-policy.ts';

describe('nextFlushAt', () => {
  const base = { now: 1000, queuedRows: 10, intervalMs: 50, thresholdRows: 10_000, afterTransactionMs: null };
  it.each([
    ['a new entry waits one interval', base, 1050],
    ['a full threshold goes at once', { ...base, queuedRows: 10_000 }, 1000],
    ['after a quick transaction, the rest of the interval', { ...base, afterTransactionMs: 8 }, 1042],
    ['after a transaction as long as the interval, at once', { ...base, afterTransactionMs: 50 }, 1000],
    ['after a slow (FUSE) transaction, at once', { ...base, afterTransactionMs: 900 }, 1000],
  ])('%s', (_name, timing, due) => {
    expect(nextFlushAt(timing)).toBe(due);
  });
});

describe('batchRowsLimit', () => {
  const base = { maxBatchRows: 20_000, highWaterRows: 50_000, intervalMs: 50, lastTransactionMs: null };
  it.each([
    ['before any transaction: the cap', base, 20_000],
    ['quick transactions: the cap', { ...base, lastTransactionMs: 30 }, 20_000],
    ['as long as the interval: still the cap', { ...base, lastTransactionMs: 50 }, 20_000],
    ['slower than the interval: up to half the high-water mark (two batches out fit under it)', { ...base, lastTransactionMs: 51 }, 25_000],
    ['slower, with a small cap: still half the mark', { ...base, maxBatchRows: 2_000, lastTransactionMs: 400 }, 25_000],
    ['a cap above the high-water mark stays', { ...base, maxBatchRows: 80_000, lastTransactionMs: 400 }, 80_000],
  ])('%s', (_name, sizing, limit) => {
    expect(batchRowsLimit(sizing)).toBe(limit);
  });
});

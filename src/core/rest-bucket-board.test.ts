import { describe, expect, it } from 'vitest';
import { BUCKET_OFFSET_MS, BucketBoard, type BucketKey, type BucketObservation } from './rest-bucket-board.ts';

const key: BucketKey = { route: 'POST:/channels/:id/messages', hash: 'abc', major: '42' };
const ok = (remaining: number, resetAfterMs: number): BucketObservation => ({ status: 200, hash: 'abc', limit: 5, remaining, resetAfterMs, retryAfterMs: null, scope: null, serverTimeMs: null });

describe('BucketBoard', () => {
  it('waits for nothing it has not been told about', () => {
    expect(new BucketBoard('a').waitMs(key, 0).waitMs).toBe(0);
  });

  it('reports a bucket it spent (Remaining 0) and a 429 by scope, each bucket once per lease', () => {
    const board = new BucketBoard('a');
    board.observe(key, ok(0, 4_000), 1_000);
    board.observe(key, { ...ok(0, 3_000), status: 429, scope: 'user', retryAfterMs: 4_000 }, 2_000);
    board.observe({ ...key, major: '43' }, { ...ok(2, 1_000), status: 429, scope: 'shared', retryAfterMs: 7_000 }, 2_000);
    board.observe({ ...key, major: '44' }, { ...ok(0, 1_000), status: 429, scope: 'global', retryAfterMs: 1_000 }, 2_000);
    board.observe({ ...key, major: '45' }, ok(3, 1_000), 2_000);
    expect(board.drainReports(2_500, 10)).toEqual([
      { route: key.route, hash: 'abc', major: '42', limit: 5, blockedForMs: 2_500, kind: 'user' },
      { route: key.route, hash: 'abc', major: '43', limit: 5, blockedForMs: 6_500, kind: 'shared' },
    ]);
    expect(board.drainReports(2_500, 10)).toEqual([]);
  });

  it('holds a request while another node has the bucket spent, matched by hash or by route', () => {
    const board = new BucketBoard('a');
    board.applyNotices([{ route: key.route, hash: 'abc', major: '42', limit: 5, blockedForMs: 300, contenders: ['b'] }], 1_000);
    expect(board.waitMs(key, 1_100)).toMatchObject({ waitMs: 200, reason: 'blocked' });
    expect(board.waitMs({ ...key, hash: null }, 1_100).waitMs).toBe(200);
    expect(board.waitMs(key, 1_300).waitMs).toBe(0);
    expect(board.counts(1_100)).toEqual({ contended: 0, blocked: 1 });
  });

  it('keeps to its part of a contended bucket in every window Discord opens', () => {
    const board = new BucketBoard('b');
    // Two contenders of a 5-per-window bucket: 'a' sends 3, 'b' sends 2.
    board.applyNotices([{ route: key.route, hash: 'abc', major: '42', limit: 5, blockedForMs: 0, contenders: ['a', 'b'] }], 0);
    board.noteSend(key, 0);
    board.observe(key, ok(4, 5_000), 10);
    expect(board.waitMs(key, 20).waitMs).toBe(0);
    board.noteSend(key, 20);
    board.observe(key, ok(1, 4_990), 30);
    const wait = board.waitMs(key, 40);
    expect(wait).toMatchObject({ reason: 'split', limit: 2 });
    expect(wait.waitMs).toBe(5_020 - 40 + BUCKET_OFFSET_MS);
    // After the window ends, a new one: the first answer shows a later reset and counts as one.
    expect(board.waitMs(key, 5_020).waitMs).toBe(0);
    board.noteSend(key, 5_100);
    board.observe(key, ok(4, 5_000), 5_110);
    expect(board.waitMs(key, 5_120).waitMs).toBe(0);
    expect(board.counts(0)).toEqual({ contended: 1, blocked: 0 });
  });
});

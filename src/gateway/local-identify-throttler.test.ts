import { describe, expect, it, vi } from 'vitest';
import { LocalIdentifyThrottler } from './local-identify-throttler.ts';

const never = new AbortController().signal;

describe('LocalIdentifyThrottler', () => {
  it('spaces identifies of one bucket by spacingMs and lets other buckets go in parallel', async () => {
    // Fake time: on real time a busy machine can pause this process between a grant and the
    // moment the test reads the clock, and the measured gap comes out shorter than the real one.
    vi.useFakeTimers();
    const throttler = new LocalIdentifyThrottler({ maxConcurrency: 2, spacingMs: 150 });
    const grants: { shard: number; at: number }[] = [];
    const t0 = Date.now();
    // Shards 0, 2, 4 share bucket 0; shards 1, 3 share bucket 1.
    const all = Promise.all(
      [0, 1, 2, 3, 4].map((shard) => throttler.waitForIdentify(shard, never).then(() => grants.push({ shard, at: Date.now() - t0 }))),
    );
    try {
      await vi.runAllTimersAsync();
      await all;
    } finally {
      vi.useRealTimers();
    }
    const bucket0 = grants.filter((g) => g.shard % 2 === 0).map((g) => g.shard);
    const bucket1 = grants.filter((g) => g.shard % 2 === 1).map((g) => g.shard);
    expect(bucket0).toEqual([0, 2, 4]);
    expect(bucket1).toEqual([1, 3]);
    // Spacing is a lower bound (a correctness rule, not a performance threshold).
    const at = (shard: number): number => grants.find((g) => g.shard === shard)!.at;
    expect(at(2) - at(0)).toBeGreaterThanOrEqual(149);
    expect(at(4) - at(2)).toBeGreaterThanOrEqual(149);
    expect(at(3) - at(1)).toBeGreaterThanOrEqual(149);
    // Bucket 1 did not wait behind bucket 0.
    expect(grants.findIndex((g) => g.shard === 1)).toBeLessThan(grants.findIndex((g) => g.shard === 2));
    expect(throttler.pendingTimers).toBe(0);
  });

  it('uses the injected clock: no wait when the spacing has already passed', async () => {
    let now = 1_000;
    const throttler = new LocalIdentifyThrottler({ maxConcurrency: 1, spacingMs: 5_000, clock: { now: () => now } });
    await throttler.waitForIdentify(0, never);
    now += 5_000;
    await throttler.waitForIdentify(0, never);
    expect(throttler.pendingTimers).toBe(0);
  });

  it('an aborted waiter rejects at once, leaves no timer, and the next waiter keeps the spacing', async () => {
    const throttler = new LocalIdentifyThrottler({ maxConcurrency: 1, spacingMs: 60_000 });
    await throttler.waitForIdentify(0, never);
    const first = new AbortController();
    const second = new AbortController();
    const a = throttler.waitForIdentify(0, first.signal);
    const b = throttler.waitForIdentify(0, second.signal);
    first.abort(new Error('shard closed'));
    await expect(a).rejects.toThrow('shard closed');
    second.abort(new Error('also closed'));
    await expect(b).rejects.toThrow('also closed');
    expect(throttler.pendingTimers).toBe(0);
  });

  it('rejects a bad configuration and a bad shard id with clear errors', async () => {
    expect(() => new LocalIdentifyThrottler({ maxConcurrency: 0 })).toThrow(/maxConcurrency/);
    const throttler = new LocalIdentifyThrottler({ maxConcurrency: 1 });
    await expect(throttler.waitForIdentify(-1, never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

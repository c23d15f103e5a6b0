import { describe, expect, it } from 'vitest';
import { SendLimiter } from './send-limiter.ts';
import { SendQueue } from './send-queue.ts';
import { TimerSet } from './timer-set.ts';
import { waitFor } from '../../test/helpers/wait-for.ts';

/** A clock the test moves by hand; sleeps resolve when the clock passes their deadline. */
function manualTime(): { clock: { now: () => number }; sleep: (ms: number, signal: AbortSignal) => Promise<void>; advance: (ms: number) => Promise<void> } {
  let now = 0;
  const sleepers: { at: number; resolve: () => void }[] = [];
  return {
    clock: { now: () => now },
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        const entry = { at: now + ms, resolve };
        sleepers.push(entry);
        signal.addEventListener('abort', () => {
          sleepers.splice(sleepers.indexOf(entry), 1);
          reject(signal.reason);
        }, { once: true });
      }),
    advance: async (ms) => {
      now += ms;
      for (const s of sleepers.filter((e) => e.at <= now)) {
        sleepers.splice(sleepers.indexOf(s), 1);
        s.resolve();
      }
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
  };
}

describe('SendQueue', () => {
  it('serves callers in order and makes the ones past the budget wait for the window', async () => {
    const time = manualTime();
    const queue = new SendQueue(new SendLimiter({ limit: 3, normalLimit: 2, windowMs: 1_000 }), time.clock, time.sleep);
    const order: number[] = [];
    const signal = new AbortController().signal;
    const all = [1, 2, 3, 4].map((n) => queue.acquire(signal).then(() => order.push(n)));
    await time.advance(0);
    expect(order).toEqual([1, 2]);
    expect(queue.waiting).toBe(2);
    await time.advance(1_000);
    expect(order).toEqual([1, 2, 3, 4]);
    await Promise.all(all);
  });

  it('an aborted caller leaves the line and the next one still gets its slot', async () => {
    const time = manualTime();
    const queue = new SendQueue(new SendLimiter({ limit: 2, normalLimit: 1, windowMs: 1_000 }), time.clock, time.sleep);
    const signal = new AbortController().signal;
    await queue.acquire(signal);
    const aborter = new AbortController();
    const stuck = queue.acquire(aborter.signal);
    const next = queue.acquire(signal);
    await time.advance(10);
    aborter.abort(new Error('gave up'));
    await expect(stuck).rejects.toThrow('gave up');
    await time.advance(1_000);
    await expect(next).resolves.toBeUndefined();
    expect(queue.waiting).toBe(0);
  });

  it('with real tracked timers an aborted wait leaves no timer', async () => {
    const timers = new TimerSet();
    const queue = new SendQueue(new SendLimiter({ limit: 2, normalLimit: 1, windowMs: 60_000 }), { now: () => Date.now() }, (ms, s) => timers.sleep(ms, s));
    const controller = new AbortController();
    await queue.acquire(controller.signal);
    const pending = queue.acquire(controller.signal);
    await waitFor(() => timers.size === 1);
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toThrow('stop');
    expect(timers.size).toBe(0);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { anySignal, backoffDelay, raceAbort, sleep } from './abort.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('sleep', () => {
  it('resolves after the delay and leaves no timer', async () => {
    vi.useFakeTimers();
    const done = sleep(100);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    await expect(done).resolves.toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the abort reason and clears its timer', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const done = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(done).rejects.toThrow('stop');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once on an already aborted signal', async () => {
    await expect(sleep(1, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
  });
});

describe('raceAbort and anySignal', () => {
  it('rejects a pending promise when the signal aborts', async () => {
    const controller = new AbortController();
    const pending = raceAbort(new Promise(() => {}), controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(pending).rejects.toThrow('cancelled');
  });

  it('aborts when any input aborts', () => {
    const a = new AbortController();
    const b = new AbortController();
    const both = anySignal([a.signal, undefined, b.signal]);
    expect(both.aborted).toBe(false);
    b.abort('why');
    expect(both.aborted).toBe(true);
    expect(both.reason).toBe('why');
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap', () => {
    const top = () => 0.999999;
    expect(backoffDelay(0, 100, 10_000, top)).toBe(99);
    expect(backoffDelay(3, 100, 10_000, top)).toBe(799);
    expect(backoffDelay(20, 100, 10_000, top)).toBe(9_999);
    expect(backoffDelay(5, 100, 10_000, () => 0)).toBe(0);
  });
});

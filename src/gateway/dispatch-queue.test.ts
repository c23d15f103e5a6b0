import { describe, expect, it } from 'vitest';
import { DispatchQueue } from './dispatch-queue.ts';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('DispatchQueue', () => {
  it('delivers synchronously and in order when the handler is synchronous', () => {
    const seen: number[] = [];
    const queue = new DispatchQueue<number>((n) => void seen.push(n), () => {});
    for (let i = 0; i < 3000; i++) queue.push(i);
    expect(seen).toHaveLength(3000);
    expect(seen.every((n, i) => n === i)).toBe(true);
  });

  it('awaits an async handler before delivering the next item', async () => {
    const gates = [deferred(), deferred()];
    const events: string[] = [];
    const queue = new DispatchQueue<number>(async (n) => {
      events.push(`start ${n}`);
      await gates[n]?.promise;
      events.push(`end ${n}`);
    }, () => {});
    queue.push(0);
    queue.push(1);
    queue.push(2);
    await Promise.resolve();
    expect(events).toEqual(['start 0']);
    gates[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['start 0', 'end 0', 'start 1']);
    gates[1]!.resolve();
    await queue.idle();
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('stop() drops what has not started and idle() waits for the one in flight', async () => {
    const gate = deferred();
    const done: number[] = [];
    const queue = new DispatchQueue<number>(async (n) => {
      await gate.promise;
      done.push(n);
    }, () => {});
    queue.push(0);
    queue.push(1);
    queue.push(2);
    expect(queue.stop()).toBe(2);
    let idle = false;
    const idlePromise = queue.idle().then(() => (idle = true));
    await Promise.resolve();
    expect(idle).toBe(false);
    gate.resolve();
    await idlePromise;
    expect(done).toEqual([0]);
    queue.push(3);
    expect(queue.length).toBe(0);
  });

  it('a throwing handler is reported and the next item still comes', async () => {
    const errors: unknown[] = [];
    const seen: number[] = [];
    const queue = new DispatchQueue<number>(async (n) => {
      if (n === 1) throw new Error('boom');
      seen.push(n);
    }, (error) => errors.push(error));
    [0, 1, 2].forEach((n) => queue.push(n));
    await queue.idle();
    expect(seen).toEqual([0, 2]);
    expect(errors).toHaveLength(1);
  });
});

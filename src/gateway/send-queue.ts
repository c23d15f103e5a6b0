import { raceAbort } from '../core/abort.ts';
import type { Clock } from '../core/ports.ts';
import type { SendLimiter } from './send-limiter.ts';

/**
 * FIFO in front of a SendLimiter: callers wait their turn, then until the limiter grants a
 * slot. A caller whose signal aborts leaves the line at once without holding up the others.
 */
export class SendQueue {
  readonly #limiter: SendLimiter;
  readonly #clock: Clock;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  constructor(limiter: SendLimiter, clock: Clock, sleep: (ms: number, signal: AbortSignal) => Promise<void>) {
    this.#limiter = limiter;
    this.#clock = clock;
    this.#sleep = sleep;
  }

  /** Callers currently in line (for status and tests). */
  get waiting(): number {
    return this.#waiting;
  }

  /** Resolves once a slot is reserved for the caller; rejects with the abort reason. */
  async acquire(signal: AbortSignal): Promise<void> {
    const previous = this.#tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    this.#tail = previous.then(() => mine);
    this.#waiting++;
    try {
      await raceAbort(previous, signal);
      for (;;) {
        const wait = this.#limiter.reserve(this.#clock.now());
        if (wait === 0) return;
        await this.#sleep(wait, signal);
      }
    } finally {
      this.#waiting--;
      release();
    }
  }
}

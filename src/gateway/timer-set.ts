import { abortReason } from '../core/errors.ts';

type Handle = ReturnType<typeof setTimeout>;

/**
 * Every timer a shard owns goes through one TimerSet, so `clearAll()` can guarantee that
 * nothing is left scheduled and tests can read `size` to prove it.
 */
export class TimerSet {
  readonly #timeouts = new Set<Handle>();
  readonly #intervals = new Set<Handle>();

  get size(): number {
    return this.#timeouts.size + this.#intervals.size;
  }

  setTimeout(fn: () => void, ms: number): Handle {
    const handle = setTimeout(() => {
      this.#timeouts.delete(handle);
      fn();
    }, Math.max(0, ms));
    this.#timeouts.add(handle);
    return handle;
  }

  setInterval(fn: () => void, ms: number): Handle {
    const handle = setInterval(fn, Math.max(1, ms));
    this.#intervals.add(handle);
    return handle;
  }

  clear(handle: Handle | undefined): void {
    if (handle === undefined) return;
    if (this.#timeouts.delete(handle)) clearTimeout(handle);
    if (this.#intervals.delete(handle)) clearInterval(handle);
  }

  /** Like core `sleep`, but tracked: an aborted or finished sleep leaves no timer. */
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.clear(handle);
        reject(abortReason(signal));
      };
      const handle = this.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  clearAll(): void {
    for (const handle of this.#timeouts) clearTimeout(handle);
    for (const handle of this.#intervals) clearInterval(handle);
    this.#timeouts.clear();
    this.#intervals.clear();
  }
}

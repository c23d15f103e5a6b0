/**
 * Delivers items one at a time, in order. When `process` returns a promise the next item
 * waits for it (back-pressure on the handler); a synchronous `process` keeps the loop
 * synchronous, so a fast handler costs no promise per item.
 */
export class DispatchQueue<T> {
  readonly #process: (item: T) => void | Promise<void>;
  readonly #onError: (error: unknown, item: T) => void;
  #items: (T | undefined)[] = [];
  #head = 0;
  #running = false;
  #stopped = false;
  #idleWaiters: (() => void)[] = [];

  constructor(process: (item: T) => void | Promise<void>, onError: (error: unknown, item: T) => void) {
    this.#process = process;
    this.#onError = onError;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  push(item: T): void {
    if (this.#stopped) return;
    this.#items.push(item);
    if (!this.#running) this.#drain();
  }

  /** Stops delivering and drops what has not started; returns how many were dropped. */
  stop(): number {
    this.#stopped = true;
    const dropped = this.length;
    this.#items = [];
    this.#head = 0;
    if (!this.#running) this.#wakeIdle();
    return dropped;
  }

  /** Resolves when nothing is being delivered: after stop(), once the in-flight item finished. */
  idle(): Promise<void> {
    if (!this.#running && (this.#stopped || this.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Delivers synchronously until an item's `process` returns a promise; the loop then resumes
   * after it settles. No promise or array is allocated per item on the synchronous path.
   */
  #drain(): void {
    this.#running = true;
    while (!this.#stopped && this.#head < this.#items.length) {
      const item = this.#items[this.#head] as T;
      this.#items[this.#head] = undefined;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      let result: void | Promise<void>;
      try {
        result = this.#process(item);
      } catch (error) {
        this.#onError(error, item);
        continue;
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(
          () => this.#drain(),
          (error: unknown) => {
            this.#onError(error, item);
            this.#drain();
          },
        );
        return;
      }
    }
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
    this.#running = false;
    this.#wakeIdle();
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

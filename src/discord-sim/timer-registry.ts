/**
 * Every timer the sim starts goes through one registry, so `close()` can clear them all and
 * tests can assert that nothing was left running.
 */
export class TimerRegistry {
  readonly #timers = new Set<NodeJS.Timeout>();

  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, Math.max(0, ms));
    this.#timers.add(timer);
    return timer;
  }

  setInterval(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = setInterval(fn, Math.max(1, ms));
    this.#timers.add(timer);
    return timer;
  }

  clear(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  clearAll(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  get size(): number {
    return this.#timers.size;
  }
}

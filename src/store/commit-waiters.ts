interface Waiting {
  readonly upTo: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Callers of a funnel's committed(): each waits until the entries accepted before it asked
 * have left the queue (committed, or handed over by drain()). Entries are counted in the
 * order they were accepted, so one number says how far the queue has gone.
 */
export class CommitWaiters {
  #waiting: Waiting[] = [];

  get size(): number {
    return this.#waiting.length;
  }

  /** Resolves once `removed(n)` reaches `upTo`; at once when it already has. */
  wait(upTo: number, removedSoFar: number): Promise<void> {
    if (removedSoFar >= upTo) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#waiting.push({ upTo, resolve, reject }));
  }

  /** The queue has gone past `removedSoFar` entries. */
  removed(removedSoFar: number): void {
    if (this.#waiting.length === 0) return;
    this.#waiting = this.#waiting.filter((w) => {
      if (w.upTo > removedSoFar) return true;
      w.resolve();
      return false;
    });
  }

  /** A transaction holding the oldest entries failed: everyone waiting hears why. */
  failed(error: unknown): void {
    for (const w of this.#waiting.splice(0)) w.reject(error);
  }
}

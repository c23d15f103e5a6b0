/**
 * Writes that each need the store to themselves (the coordinator's exclusive()), joined: every
 * write queued while one waits for its turn runs with it, in one call (one transaction), and
 * each caller learns the outcome of that call. Moves that finish together (a leaving node's
 * shards, several at once) then cost one commit instead of a queue of them.
 */
interface Waiting<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class JoinedWrites<T> {
  readonly #run: (items: readonly T[]) => void;
  readonly #exclusive: (write: () => void) => Promise<void>;
  #waiting: Waiting<T>[] = [];

  /** `run` writes the items (throwing fails them all); `exclusive` gives it its turn. */
  constructor(run: (items: readonly T[]) => void, exclusive: (write: () => void) => Promise<void>) {
    this.#run = run;
    this.#exclusive = exclusive;
  }

  /** Resolves once the item is written (with whatever joined it), rejects if that write failed. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (this.#waiting.length > 1) return;
      let taken: Waiting<T>[] = [];
      this.#exclusive(() => {
        taken = this.#waiting;
        this.#waiting = [];
        this.#run(taken.map((w) => w.item));
      }).then(
        () => taken.forEach((w) => w.resolve()),
        (error: unknown) => {
          // Nothing taken (the turn never came): fail those that were waiting for it.
          if (taken.length === 0) [taken, this.#waiting] = [this.#waiting, []];
          taken.forEach((w) => w.reject(error));
        },
      );
    });
  }
}

/**
 * A rate limit window as Discord's headers describe it: it opens with the first request after
 * the previous one ended and lasts `windowMs`; at most `limit` requests fall inside it.
 * `Reset-After` is the time left in the open window.
 */
export class RestWindow {
  readonly limit: number;
  readonly windowMs: number;
  #count = 0;
  #resetAt = Number.NEGATIVE_INFINITY;

  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** When the open window ends (or ended). */
  resetAt(now: number): number {
    this.#roll(now);
    return this.#resetAt;
  }

  remaining(now: number): number {
    this.#roll(now);
    return this.limit - this.#count;
  }

  /** Counts one request if the window has room; false (nothing counted) when it is full. */
  take(now: number): boolean {
    this.#roll(now);
    if (this.#count >= this.limit) return false;
    if (this.#count === 0) this.#resetAt = now + this.windowMs;
    this.#count += 1;
    return true;
  }

  /** Nothing counted and the window over: the entry can be forgotten. */
  idle(now: number): boolean {
    return now >= this.#resetAt;
  }

  #roll(now: number): void {
    if (now >= this.#resetAt) {
      this.#count = 0;
      this.#resetAt = Number.NEGATIVE_INFINITY;
    }
  }
}

/** Timestamps within a sliding window; used for counts that must not reset all at once (invalid requests). */
export class SlidingCount {
  readonly windowMs: number;
  readonly #times: number[] = [];
  #head = 0;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  add(now: number): number {
    this.#times.push(now);
    return this.count(now);
  }

  count(now: number): number {
    const times = this.#times;
    while (this.#head < times.length && times[this.#head]! <= now - this.windowMs) this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > times.length) {
      times.splice(0, this.#head);
      this.#head = 0;
    }
    return times.length - this.#head;
  }
}

export interface IdentifyLimiterOptions {
  maxConcurrency: number;
  identifySpacingMs: number;
  total: number;
  resetAfterMs: number;
  now: () => number;
}

export interface SessionStartLimit {
  total: number;
  remaining: number;
  reset_after: number;
  max_concurrency: number;
}

/**
 * Discord's identify rules: one IDENTIFY per bucket (shard_id % max_concurrency) per spacing
 * window, and a daily budget of session starts that only successful identifies consume.
 */
export class IdentifyLimiter {
  readonly #options: IdentifyLimiterOptions;
  readonly #lastByBucket = new Map<number, number>();
  #remaining: number;
  #windowStart: number;

  constructor(options: IdentifyLimiterOptions) {
    this.#options = options;
    this.#remaining = options.total;
    this.#windowStart = options.now();
  }

  /** Takes the bucket slot for `shardId` if its spacing has passed; false means "too fast". */
  tryAcquireBucket(shardId: number): boolean {
    const bucket = shardId % this.#options.maxConcurrency;
    const now = this.#options.now();
    const last = this.#lastByBucket.get(bucket);
    if (last !== undefined && now - last < this.#options.identifySpacingMs) return false;
    this.#lastByBucket.set(bucket, now);
    return true;
  }

  /** Consumes one session start; false when the budget is exhausted. */
  tryConsumeStart(): boolean {
    this.#roll();
    if (this.#remaining <= 0) return false;
    this.#remaining -= 1;
    return true;
  }

  snapshot(): SessionStartLimit {
    this.#roll();
    return {
      total: this.#options.total,
      remaining: this.#remaining,
      reset_after: Math.max(0, this.#windowStart + this.#options.resetAfterMs - this.#options.now()),
      max_concurrency: this.#options.maxConcurrency,
    };
  }

  #roll(): void {
    const now = this.#options.now();
    if (now - this.#windowStart >= this.#options.resetAfterMs) {
      this.#windowStart = now;
      this.#remaining = this.#options.total;
    }
  }
}

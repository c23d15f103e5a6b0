/**
 * Identify is a cluster resource (contract 8). This is the pure policy the primary applies:
 * one IDENTIFY per bucket (`shard_id % max_concurrency`) per spacing window, buckets in
 * parallel, and a daily `session_start_limit` ledger that refuses new sessions below a
 * reserve, so a storm of re-identifies can never spend the budget that a token reset punishes.
 */
export interface SessionStartLimit {
  readonly total: number;
  readonly remaining: number;
  /** Milliseconds until `remaining` goes back to `total`. */
  readonly resetAfterMs: number;
  readonly maxConcurrency: number;
}

export type IdentifyDecision =
  | { readonly kind: 'grant'; readonly bucket: number; readonly remaining: number }
  | { readonly kind: 'wait'; readonly bucket: number; readonly retryAfterMs: number }
  | { readonly kind: 'refuse'; readonly reason: string; readonly retryAfterMs: number };

export interface IdentifyBudgetOptions {
  readonly spacingMs?: number;
  /** Session starts kept back for emergencies (a human restarting everything). */
  readonly reserve?: number;
}

export interface IdentifyBudgetSnapshot {
  readonly total: number;
  readonly remaining: number;
  readonly resetAt: number;
  readonly maxConcurrency: number;
  readonly reserve: number;
  readonly granted: number;
}

export class IdentifyBudget {
  readonly #spacingMs: number;
  readonly #reserve: number;
  #limit: SessionStartLimit;
  #resetAt: number;
  #remaining: number;
  #granted = 0;
  readonly #nextFree = new Map<number, number>();

  constructor(limit: SessionStartLimit, now: number, options: IdentifyBudgetOptions = {}) {
    this.#spacingMs = options.spacingMs ?? 5_000;
    this.#reserve = options.reserve ?? Math.min(50, Math.floor(limit.total * 0.05));
    this.#limit = limit;
    this.#remaining = limit.remaining;
    this.#resetAt = now + limit.resetAfterMs;
  }

  /** Takes fresh figures from GET /gateway/bot; Discord's count wins over ours. */
  update(limit: SessionStartLimit, now: number): void {
    this.#limit = limit;
    this.#remaining = limit.remaining;
    this.#resetAt = now + limit.resetAfterMs;
  }

  request(shardId: number, now: number): IdentifyDecision {
    if (now >= this.#resetAt) {
      this.#remaining = this.#limit.total;
      this.#resetAt = now + 24 * 60 * 60 * 1_000;
    }
    if (this.#remaining <= this.#reserve) {
      return {
        kind: 'refuse',
        reason: `Identify refused for shard ${shardId}: ${this.#remaining} session starts left today, at or below the reserve of ${this.#reserve}; resets in ${Math.ceil((this.#resetAt - now) / 1000)} s`,
        retryAfterMs: this.#resetAt - now,
      };
    }
    const bucket = shardId % Math.max(1, this.#limit.maxConcurrency);
    const free = this.#nextFree.get(bucket) ?? 0;
    if (now < free) return { kind: 'wait', bucket, retryAfterMs: free - now };
    this.#nextFree.set(bucket, now + this.#spacingMs);
    this.#remaining -= 1;
    this.#granted += 1;
    return { kind: 'grant', bucket, remaining: this.#remaining };
  }

  /** Makes every bucket wait one spacing from `now` (a new primary cannot know the old one's grants). */
  holdAll(now: number): void {
    for (let bucket = 0; bucket < Math.max(1, this.#limit.maxConcurrency); bucket++) this.#nextFree.set(bucket, now + this.#spacingMs);
  }

  snapshot(): IdentifyBudgetSnapshot {
    return {
      total: this.#limit.total,
      remaining: this.#remaining,
      resetAt: this.#resetAt,
      maxConcurrency: this.#limit.maxConcurrency,
      reserve: this.#reserve,
      granted: this.#granted,
    };
  }
}

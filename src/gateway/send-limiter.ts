import { ShardlineError } from '../core/errors.ts';

export interface SendLimiterOptions {
  /** Discord's hard limit per connection and window (120). */
  limit?: number;
  /** Budget for ordinary sends; the rest of `limit` is kept for heartbeats, IDENTIFY and RESUME. */
  normalLimit?: number;
  windowMs?: number;
}

/**
 * Outbound budget of one gateway connection as a sliding window log. Pure: time comes in
 * as an argument, so the policy is tested without timers. Priority sends (heartbeat,
 * IDENTIFY, RESUME) are recorded but never refused: they must go out, and the reserve
 * between `normalLimit` and `limit` exists for them.
 */
export class SendLimiter {
  readonly limit: number;
  readonly normalLimit: number;
  readonly windowMs: number;
  /** Send times inside the window, oldest first. Bounded by `limit` plus a few priority sends. */
  #sent: number[] = [];

  constructor(options: SendLimiterOptions = {}) {
    this.limit = options.limit ?? 120;
    this.normalLimit = options.normalLimit ?? 115;
    this.windowMs = options.windowMs ?? 60_000;
    if (!(this.normalLimit >= 1 && this.normalLimit <= this.limit && this.windowMs > 0)) {
      throw new ShardlineError(
        'INVALID_CONFIG',
        `Invalid send limiter: need 1 <= normalLimit (${this.normalLimit}) <= limit (${this.limit}) and windowMs (${this.windowMs}) > 0`,
      );
    }
  }

  /**
   * Reserves a slot for an ordinary send at `now`. Returns 0 when reserved, otherwise the
   * milliseconds until a slot frees (nothing is reserved then; ask again after waiting).
   */
  reserve(now: number): number {
    this.#expire(now);
    if (this.#sent.length < this.normalLimit) {
      this.#sent.push(now);
      return 0;
    }
    // Enough entries must expire to bring the count below normalLimit.
    const freeingAt = this.#sent[this.#sent.length - this.normalLimit]! + this.windowMs;
    return Math.max(1, freeingAt - now);
  }

  /** Records a priority send (heartbeat, IDENTIFY, RESUME); it bypasses the budget. */
  recordPriority(now: number): void {
    this.#expire(now);
    this.#sent.push(now);
  }

  /** Sends counted in the window ending at `now`. */
  used(now: number): number {
    this.#expire(now);
    return this.#sent.length;
  }

  /** A new connection starts with a fresh budget. */
  reset(): void {
    this.#sent = [];
  }

  #expire(now: number): void {
    const cutoff = now - this.windowMs;
    let drop = 0;
    while (drop < this.#sent.length && this.#sent[drop]! <= cutoff) drop++;
    if (drop > 0) this.#sent.splice(0, drop);
  }
}

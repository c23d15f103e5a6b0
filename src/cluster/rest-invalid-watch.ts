import { InvalidCounter, invalidThresholds, invalidThrottle, type InvalidLevel, type InvalidThresholds } from '../core/invalid-request-budget.ts';
import type { Logger } from '../core/ports.ts';

const LEVELS: readonly InvalidLevel[] = ['ok', 'warn', 'throttle', 'stop'];

/**
 * A node's view of the cluster's invalid REST answers: its own count, the cluster's from the
 * last grant plus what it counted since, the level that makes it warn, throttle or stop, and
 * the log lines at each change of level.
 */
export class RestInvalidWatch {
  readonly limit: number;
  readonly windowMs: number;
  readonly thresholds: InvalidThresholds;
  readonly #own: InvalidCounter;
  readonly #log: Logger;
  /** The cluster's count in the last grant, and ours when that lease was asked. */
  #cluster = { count: 0, ownAtAsk: 0 };
  #level: InvalidLevel = 'ok';

  constructor(options: { limit: number; windowMs: number; globalLimit: number; logger: Logger }) {
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.thresholds = invalidThresholds(options.limit, options.globalLimit);
    this.#own = new InvalidCounter(options.windowMs);
    this.#log = options.logger;
  }

  own(now: number): number {
    return this.#own.count(now);
  }

  cluster(now: number): number {
    return this.#cluster.count + Math.max(0, this.own(now) - this.#cluster.ownAtAsk);
  }

  add(now: number): void {
    this.#own.add(now);
    this.check(now);
  }

  /** The primary's count, for a lease asked when ours was `ownAtAsk`. */
  granted(count: number, ownAtAsk: number, now: number): void {
    this.#cluster = { count, ownAtAsk };
    this.check(now);
  }

  throttle(now: number): { level: InvalidLevel; factor: number } {
    return invalidThrottle(this.cluster(now), this.thresholds);
  }

  /** Logs a change of level: louder the closer to the ban. */
  check(now: number): void {
    const count = this.cluster(now);
    const { level } = invalidThrottle(count, this.thresholds);
    if (level === this.#level) return;
    const rising = LEVELS.indexOf(level) > LEVELS.indexOf(this.#level);
    this.#level = level;
    const t = this.thresholds;
    const fields = { count, limit: this.limit, windowMs: this.windowMs, throttleAt: t.throttleAt, stopAt: t.stopAt };
    if (!rising) this.#log.info(fields, `invalid REST answers fell to ${count} of the ${this.limit} that get the IP banned: ${level === 'ok' ? 'back to normal' : `now ${level}`}`);
    else if (level === 'warn') this.#log.warn(fields, `invalid REST answers (401, 403, 429) reached ${count} of the ${this.limit} in ${this.windowMs / 60_000} min that get the IP banned by Cloudflare; REST slows down from ${t.throttleAt}`);
    else if (level === 'throttle') this.#log.error(fields, `invalid REST answers reached ${count} of ${this.limit}: REST is throttled to stay clear of the ban, and stops at ${t.stopAt}; look for a handler repeating a request Discord refuses`);
    else this.#log.error(fields, `invalid REST answers reached ${count} of ${this.limit}: no REST request leaves this node until the count falls, to avoid the ban (requests wait for their deadline)`);
  }
}

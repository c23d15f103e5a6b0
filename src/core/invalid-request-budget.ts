/**
 * Discord bans an IP for a while after 10,000 invalid answers (401, 403, non-shared 429)
 * within 10 minutes, which takes the whole bot down. The cluster counts them together and
 * slows down well before the limit: this is the pure policy of how much, and the count itself.
 */

export type InvalidLevel = 'ok' | 'warn' | 'throttle' | 'stop';

export interface InvalidThresholds {
  /** Logged and shown from here on. */
  readonly warnAt: number;
  /** Shares shrink from here, to nothing at `stopAt`. */
  readonly throttleAt: number;
  /** No request leaves any node from here until the count falls (the rest covers what is in flight and unreported). */
  readonly stopAt: number;
}

/**
 * Thresholds for a ban `limit`, with room for what `globalLimit` requests in flight and one
 * unreported lease interval may add. The room is at most half the limit: a bot whose global
 * limit nears the ban limit (Discord grants large bots thousands a second) would otherwise stop
 * all REST for the whole window at its first refused request.
 */
export function invalidThresholds(limit: number, globalLimit: number): InvalidThresholds {
  const room = Math.min(Math.ceil(limit * 0.5), Math.max(Math.ceil(limit * 0.1), 2 * globalLimit));
  const stopAt = Math.max(1, limit - room);
  const throttleAt = Math.max(0, stopAt - Math.ceil(limit * 0.2));
  return { warnAt: Math.min(throttleAt, Math.ceil(limit * 0.5)), throttleAt, stopAt };
}

/** How much of its share a node may spend with `count` invalid answers counted in the cluster. */
export function invalidThrottle(count: number, thresholds: InvalidThresholds): { readonly level: InvalidLevel; readonly factor: number } {
  if (count >= thresholds.stopAt) return { level: 'stop', factor: 0 };
  if (count >= thresholds.throttleAt) {
    const span = Math.max(1, thresholds.stopAt - thresholds.throttleAt);
    return { level: 'throttle', factor: Math.max(0.05, (thresholds.stopAt - count) / span) };
  }
  return { level: count >= thresholds.warnAt ? 'warn' : 'ok', factor: 1 };
}

/** Invalid answers over a sliding window, in 60 slots (a slot leaves the count once wholly out of the window). */
export class InvalidCounter {
  readonly windowMs: number;
  readonly #slotMs: number;
  readonly #slots = new Map<number, number>();

  constructor(windowMs: number) {
    this.windowMs = windowMs;
    this.#slotMs = Math.max(1, Math.ceil(windowMs / 60));
  }

  add(now: number, n = 1): void {
    const slot = Math.floor(now / this.#slotMs);
    this.#slots.set(slot, (this.#slots.get(slot) ?? 0) + n);
  }

  count(now: number): number {
    const oldest = Math.floor((now - this.windowMs) / this.#slotMs);
    let sum = 0;
    for (const [slot, n] of this.#slots) {
      if (slot < oldest) this.#slots.delete(slot);
      else sum += n;
    }
    return sum;
  }
}

/**
 * Discord's limit on op 8 requests for a guild's whole member list (empty `query`, `limit` 0),
 * since 2025-08-14: one per guild per bot per 30 s. A request over it is answered with a
 * RATE_LIMITED dispatch instead of chunks. Requests by name or by ids are not limited.
 */
export const ALL_MEMBERS_WINDOW_MS = 30_000;

export class MemberRequestLimiter {
  readonly #last = new Map<string, number>();
  readonly #windowMs: number;

  constructor(windowMs: number = ALL_MEMBERS_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** Records an all-members request at `now`; returns null when it may go, else the seconds to wait. */
  take(guildId: string, now: number): number | null {
    const last = this.#last.get(guildId);
    if (last !== undefined && now - last < this.#windowMs) return (this.#windowMs - (now - last)) / 1000;
    this.#last.set(guildId, now);
    return null;
  }
}

/** True for the requests the limit applies to: the whole member list. */
export function asksForAllMembers(request: { user_ids?: unknown; query?: unknown; limit?: unknown }): boolean {
  if (request.user_ids !== undefined) return false;
  const query = typeof request.query === 'string' ? request.query : '';
  return query === '' && Number(request.limit ?? 0) === 0;
}

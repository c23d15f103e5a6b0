/**
 * One node's knowledge of Discord's per-route buckets beyond what its own @discordjs/rest
 * learned: buckets other nodes found spent (wait until they reset rather than collect the
 * same 429) and buckets several nodes spend (each keeps to its part of the limit in every
 * window Discord opens, so together they never exceed it). Pure; the clock is passed in.
 */

/** A request's bucket: djs's `METHOD:/route` key, the learned X-RateLimit-Bucket if any, the major parameter. */
export interface BucketKey {
  readonly route: string;
  readonly hash: string | null;
  readonly major: string;
}

/** What a response said about its bucket. */
export interface BucketObservation {
  readonly status: number;
  readonly hash: string | null;
  readonly limit: number | null;
  readonly remaining: number | null;
  readonly resetAfterMs: number | null;
  readonly retryAfterMs: number | null;
  readonly scope: 'user' | 'global' | 'shared' | null;
  /** Discord's clock when it decided (X-RateLimit-Reset minus Reset-After), in ms; null without those headers. */
  readonly serverTimeMs: number | null;
}

export type BucketReportKind = 'exhausted' | 'user' | 'shared' | 'sublimit';

export interface BoardReport {
  readonly route: string;
  readonly hash: string;
  readonly major: string;
  readonly limit: number;
  readonly blockedForMs: number;
  readonly kind: BucketReportKind;
}

export interface BoardNotice {
  readonly route: string;
  readonly hash: string;
  readonly major: string;
  readonly limit: number;
  readonly blockedForMs: number;
  readonly contenders: readonly string[];
}

/** Waits past a window's end by this much, as @discordjs/rest does (its `offset`). */
export const BUCKET_OFFSET_MS = 50;

interface Known {
  readonly limit: number;
  readonly blockedUntil: number;
  readonly contenders: readonly string[];
}

interface Local {
  /** When the window our last response reported ends. */
  resetAt: number;
  windowMs: number;
  sent: number;
}

interface PendingReport {
  readonly route: string;
  readonly hash: string;
  readonly major: string;
  readonly limit: number;
  readonly blockedUntil: number;
  readonly kind: BucketReportKind;
}

export class BucketBoard {
  readonly #nodeId: string;
  /** From the primary, by `hash:major` and by `route:major`. */
  #known = new Map<string, Known>();
  readonly #local = new Map<string, Local>();
  readonly #pending = new Map<string, PendingReport>();

  constructor(nodeId: string) {
    this.#nodeId = nodeId;
  }

  /** Replaces what the primary said last time. */
  applyNotices(notices: readonly BoardNotice[], now: number): void {
    const known = new Map<string, Known>();
    for (const n of notices) {
      const entry: Known = { limit: n.limit, blockedUntil: now + n.blockedForMs, contenders: n.contenders };
      known.set(`${n.hash}:${n.major}`, entry);
      known.set(`${n.route}:${n.major}`, entry);
    }
    this.#known = known;
  }

  /** Buckets split between nodes now, and buckets others found spent. */
  counts(now: number): { contended: number; blocked: number } {
    let contended = 0;
    let blocked = 0;
    const seen = new Set<Known>();
    for (const k of this.#known.values()) {
      if (seen.has(k)) continue;
      seen.add(k);
      if (k.contenders.length >= 2) contended += 1;
      if (k.blockedUntil > now) blocked += 1;
    }
    return { contended, blocked };
  }

  /** 0 when a request may go on this bucket now; otherwise how long to wait first. */
  waitMs(key: BucketKey, now: number): { waitMs: number; limit: number; reason: 'blocked' | 'split' | null } {
    const known = (key.hash ? this.#known.get(`${key.hash}:${key.major}`) : undefined) ?? this.#known.get(`${key.route}:${key.major}`);
    if (!known) return { waitMs: 0, limit: 0, reason: null };
    if (known.blockedUntil > now) return { waitMs: known.blockedUntil - now, limit: known.limit, reason: 'blocked' };
    const index = known.contenders.indexOf(this.#nodeId);
    if (known.contenders.length < 2 || index < 0 || known.limit <= 0) return { waitMs: 0, limit: known.limit, reason: null };
    const local = this.#local.get(this.#localKey(key));
    if (!local || now >= local.resetAt) return { waitMs: 0, limit: known.limit, reason: null };
    const k = known.contenders.length;
    const quota = Math.max(1, Math.floor(known.limit / k) + (index < known.limit % k ? 1 : 0));
    if (local.sent < quota) return { waitMs: 0, limit: quota, reason: null };
    return { waitMs: local.resetAt - now + BUCKET_OFFSET_MS, limit: quota, reason: 'split' };
  }

  /** A request leaves for this bucket now. */
  noteSend(key: BucketKey, now: number): void {
    const id = this.#localKey(key);
    const local = this.#local.get(id);
    if (!local) {
      this.#local.set(id, { resetAt: Number.NEGATIVE_INFINITY, windowMs: 0, sent: 1 });
      return;
    }
    if (now >= local.resetAt) local.sent = 0;
    local.sent += 1;
  }

  /** A response came back: learn the window, and queue a report when the bucket ran dry or answered 429. */
  observe(key: BucketKey, seen: BucketObservation, now: number): void {
    const id = this.#localKey(key);
    const local = this.#local.get(id);
    if (local && seen.resetAfterMs !== null && seen.status !== 429) {
      const resetAt = now + seen.resetAfterMs;
      // A window that ends well after the one we counted in is a new one Discord opened: ours is its only request so far.
      if (resetAt > local.resetAt + Math.max(BUCKET_OFFSET_MS, local.windowMs / 2)) local.sent = 1;
      local.resetAt = resetAt;
      local.windowMs = Math.max(local.windowMs, seen.resetAfterMs);
    }
    const hash = seen.hash ?? key.hash;
    if (hash === null || seen.scope === 'global') return;
    let kind: BucketReportKind | null = null;
    let blockedForMs = 0;
    if (seen.status === 429) {
      kind = seen.scope === 'shared' ? 'shared' : seen.remaining !== null && seen.remaining > 0 ? 'sublimit' : 'user';
      // A spent bucket is free again when its window ends (Retry-After is rounded up to whole seconds).
      blockedForMs = (kind === 'user' ? (seen.resetAfterMs ?? seen.retryAfterMs) : (seen.retryAfterMs ?? seen.resetAfterMs)) ?? 0;
    } else if (seen.status < 400 && seen.remaining === 0 && seen.resetAfterMs !== null) {
      kind = 'exhausted';
      blockedForMs = seen.resetAfterMs;
    }
    if (kind === null) return;
    // Shared and sublimit answers concern this bucket's own requests only in part: they are reported, not split.
    this.#pending.set(`${hash}:${key.major}`, { route: key.route, hash, major: key.major, limit: seen.limit ?? 0, blockedUntil: now + blockedForMs, kind });
  }

  /** The reports for the next lease request (each bucket once, its latest state). */
  drainReports(now: number, max: number): BoardReport[] {
    const out: BoardReport[] = [];
    for (const [id, r] of this.#pending) {
      this.#pending.delete(id);
      out.push({ route: r.route, hash: r.hash, major: r.major, limit: r.limit, blockedForMs: Math.max(0, r.blockedUntil - now), kind: r.kind });
      if (out.length >= max) break;
    }
    if (this.#local.size > 10_000) for (const [id, l] of this.#local) if (l.resetAt < now) this.#local.delete(id);
    return out;
  }

  #localKey(key: BucketKey): string {
    return `${key.route}:${key.major}`;
  }
}

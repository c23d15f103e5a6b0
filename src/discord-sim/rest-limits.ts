import { ShardlineError } from '../core/errors.ts';
import { bucketHash, type RouteLimits } from './rest-route-limits.ts';
import { RestWindow, SlidingCount } from './rest-window.ts';

export interface RestLimitsOptions {
  /** Requests per second per token (Discord's global limit). Default 50. */
  readonly globalLimit?: number;
  /** A larger (or smaller) global limit for some tokens, as Discord grants large bots. */
  readonly globalLimitByToken?: Readonly<Record<string, number>>;
  /** 401, 403 and non-shared 429 answers per client within `invalidWindowMs` before a ban. Default 10,000. */
  readonly invalidLimit?: number;
  /** Default 10 minutes. */
  readonly invalidWindowMs?: number;
  /** How long a ban lasts. Default 1 hour. */
  readonly banMs?: number;
  /** The clock of every window (tests pass a fake one). Default Date.now. */
  readonly now?: () => number;
}

/** The bucket state a response reports in its X-RateLimit-* headers. */
export interface BucketState {
  readonly hash: string;
  readonly limit: number;
  readonly remaining: number;
  /** Epoch ms when the bucket's window ends. */
  readonly resetAt: number;
  readonly resetAfterMs: number;
}

export type RestDecision =
  | { readonly kind: 'ok'; readonly bucket: BucketState | null }
  | { readonly kind: 'banned'; readonly untilMs: number }
  | { readonly kind: 'global'; readonly retryAfterMs: number }
  | { readonly kind: 'user' | 'shared' | 'sublimit'; readonly retryAfterMs: number; readonly bucket: BucketState | null };

export interface RestRequest {
  readonly token: string;
  /** Who sends: an IP on Discord; here the X-Shardline-Node header or the socket's address. */
  readonly client: string;
  readonly route: RouteLimits;
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** Which answers Discord counts toward the ban: 401, 403, and 429 other than a shared one. */
export function isInvalidAnswer(status: number, scope: 'user' | 'global' | 'shared' | null): boolean {
  return status === 401 || status === 403 || (status === 429 && scope !== 'shared');
}

/** Sweep forgotten windows once the maps hold this many. */
const SWEEP_AT = 10_000;

function positive(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isFinite(n) || n <= 0) throw new ShardlineError('INVALID_CONFIG', `Cannot create the REST limits: ${name} must be a positive number, got ${String(value)}`);
  return n;
}

/**
 * Discord's REST limits for the simulator: per token the global limit and the per-route
 * buckets (keyed by bucket and major parameter), per resource the shared limits, sublimits
 * inside buckets, and per client the invalid-request count with its temporary ban.
 * Pure state over an injected clock; the HTTP side is rest-limit-middleware.ts.
 */
export class RestLimits {
  readonly globalLimit: number;
  readonly invalidLimit: number;
  readonly invalidWindowMs: number;
  readonly banMs: number;
  readonly now: () => number;
  readonly #byToken: Readonly<Record<string, number>>;
  readonly #global = new Map<string, RestWindow>();
  readonly #buckets = new Map<string, RestWindow>();
  readonly #shared = new Map<string, RestWindow>();
  readonly #sublimits = new Map<string, RestWindow>();
  readonly #invalid = new Map<string, SlidingCount>();
  readonly #bans = new Map<string, number>();

  constructor(options: RestLimitsOptions = {}) {
    this.globalLimit = Math.floor(positive('globalLimit', options.globalLimit, 50));
    this.invalidLimit = Math.floor(positive('invalidLimit', options.invalidLimit, 10_000));
    this.invalidWindowMs = positive('invalidWindowMs', options.invalidWindowMs, 600_000);
    this.banMs = positive('banMs', options.banMs, 3_600_000);
    for (const [token, limit] of Object.entries(options.globalLimitByToken ?? {})) positive(`globalLimitByToken[${token.slice(0, 4)}…]`, limit, 1);
    this.#byToken = { ...options.globalLimitByToken };
    this.now = options.now ?? Date.now;
  }

  globalLimitOf(token: string): number {
    return Math.floor(this.#byToken[token] ?? this.globalLimit);
  }

  /** Decides one request and, when it may pass, counts it everywhere it counts. */
  decide(request: RestRequest): RestDecision {
    const now = this.now();
    const bannedUntil = this.#bans.get(request.client);
    if (bannedUntil !== undefined) {
      if (now < bannedUntil) return { kind: 'banned', untilMs: bannedUntil };
      this.#bans.delete(request.client);
    }
    const { route } = request;
    if (!route.globalExempt) {
      const global = this.#window(this.#global, request.token, this.globalLimitOf(request.token), 1_000);
      if (!global.take(now)) return { kind: 'global', retryAfterMs: global.resetAt(now) - now };
    }
    const major = route.major === null ? 'global' : (request.params[route.major] ?? 'global');
    const bucket = route.bucket ? this.#window(this.#buckets, `${request.token}|${route.bucket.bucket}|${major}`, route.bucket.limit, route.bucket.windowMs) : null;
    const state = (): BucketState | null => (bucket && route.bucket ? this.#state(bucket, route.bucket.bucket, now) : null);
    if (bucket && bucket.remaining(now) <= 0) return { kind: 'user', retryAfterMs: bucket.resetAt(now) - now, bucket: state() };
    const sharedKey = route.shared ? request.params[route.shared.param] : undefined;
    const shared = route.shared && sharedKey !== undefined ? this.#window(this.#shared, `${route.path}|${sharedKey}`, route.shared.limit, route.shared.windowMs) : null;
    if (shared && shared.remaining(now) <= 0) return { kind: 'shared', retryAfterMs: shared.resetAt(now) - now, bucket: state() };
    const sub = route.sublimit?.applies(request.body) ? this.#window(this.#sublimits, `${request.token}|${route.sublimit.name}|${major}`, route.sublimit.limit, route.sublimit.windowMs) : null;
    if (sub && sub.remaining(now) <= 0) return { kind: 'sublimit', retryAfterMs: sub.resetAt(now) - now, bucket: state() };
    bucket?.take(now);
    shared?.take(now);
    sub?.take(now);
    return { kind: 'ok', bucket: state() };
  }

  /**
   * Counts an answer toward the client's invalid requests; returns true when this one starts
   * a ban (the count reached the limit within the window).
   */
  recordAnswer(client: string, status: number, scope: 'user' | 'global' | 'shared' | null): boolean {
    if (!isInvalidAnswer(status, scope)) return false;
    const now = this.now();
    let count = this.#invalid.get(client);
    if (!count) {
      count = new SlidingCount(this.invalidWindowMs);
      this.#invalid.set(client, count);
    }
    if (count.add(now) < this.invalidLimit || this.#bans.has(client)) return false;
    this.#bans.set(client, now + this.banMs);
    return true;
  }

  invalidCount(client: string): number {
    return this.#invalid.get(client)?.count(this.now()) ?? 0;
  }

  bannedUntil(client: string): number | null {
    const until = this.#bans.get(client);
    return until !== undefined && until > this.now() ? until : null;
  }

  /** Lifts every ban and forgets the invalid counts (the sim's control API, between test phases). */
  forgive(): void {
    this.#bans.clear();
    this.#invalid.clear();
  }

  #state(window: RestWindow, name: string, now: number): BucketState {
    const resetAt = window.resetAt(now);
    const open = Number.isFinite(resetAt);
    return {
      hash: bucketHash(name),
      limit: window.limit,
      remaining: window.remaining(now),
      resetAt: open ? resetAt : now + window.windowMs,
      resetAfterMs: open ? resetAt - now : window.windowMs,
    };
  }

  #window(map: Map<string, RestWindow>, key: string, limit: number, windowMs: number): RestWindow {
    let window = map.get(key);
    if (!window) {
      if (map.size >= SWEEP_AT) {
        const now = this.now();
        for (const [k, w] of map) if (w.idle(now)) map.delete(k);
      }
      window = new RestWindow(limit, windowMs);
      map.set(key, window);
    }
    return window;
  }
}

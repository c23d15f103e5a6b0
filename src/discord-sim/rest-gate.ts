import type { Context, Hono, MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { BucketState, RestDecision, RestLimits } from './rest-limits.ts';
import type { RouteLimits } from './rest-route-limits.ts';
import type { RateLimitScope, RestStats } from './rest-stats.ts';
import { isInteractionCallback } from './rest-interactions.ts';

/**
 * The header that names the sending node. Discord counts invalid requests per IP; nodes in one
 * process (tests, benches) share an address, so a shardline node sends its id in this header
 * when told to, and the simulator counts per header value, else per socket address.
 */
export const NODE_HEADER = 'x-shardline-node';

/** Discord's body for an IP banned by Cloudflare after too many invalid requests. */
export const BAN_MESSAGE =
  'You are being blocked from accessing our API temporarily due to exceeding our rate limits frequently. Please read our docs at https://discord.com/developers/docs/topics/rate-limits to prevent this moving forward.';

interface RequestInfo {
  token: string | null;
  client: string;
  route: string | null;
  limitedBy: RateLimitScope | null;
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

function bucketHeaders(c: Context, bucket: BucketState): void {
  c.header('X-RateLimit-Limit', String(bucket.limit));
  c.header('X-RateLimit-Remaining', String(bucket.remaining));
  c.header('X-RateLimit-Reset', seconds(bucket.resetAt));
  c.header('X-RateLimit-Reset-After', seconds(bucket.resetAfterMs));
  c.header('X-RateLimit-Bucket', bucket.hash);
}

/** The 429 Discord answers for a limit: Retry-After in whole seconds rounded up, retry_after exact. */
function tooMany(c: Context, decision: Exclude<RestDecision, { kind: 'ok' | 'banned' }>): Response {
  const retryAfter = Math.max(0, decision.retryAfterMs) / 1000;
  c.header('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
  if (decision.kind === 'global') {
    c.header('X-RateLimit-Global', 'true');
    c.header('X-RateLimit-Scope', 'global');
    return c.json({ message: 'You are being rate limited.', retry_after: Number(retryAfter.toFixed(3)), global: true }, 429);
  }
  if (decision.bucket) bucketHeaders(c, decision.bucket);
  c.header('X-RateLimit-Scope', decision.kind === 'shared' ? 'shared' : 'user');
  const body: Record<string, unknown> = { message: 'You are being rate limited.', retry_after: Number(retryAfter.toFixed(3)), global: false };
  if (decision.kind === 'shared') body['code'] = 40_062;
  return c.json(body, 429);
}

export interface RestGateOptions {
  readonly limits: RestLimits;
  readonly stats: RestStats;
  /** Accepted bot tokens. */
  readonly tokens: ReadonlySet<string>;
}

/**
 * The simulated Discord's front door for /api/vN: the ban, authentication, the rate limits of
 * each route, Discord's headers, and the counts of what it answered.
 */
export class RestGate {
  readonly #o: RestGateOptions;
  readonly #info = new WeakMap<Request, RequestInfo>();

  constructor(options: RestGateOptions) {
    this.#o = options;
  }

  /** Runs first for every request under /api/vN. */
  entry(): MiddlewareHandler {
    return async (c, next) => {
      const client = c.req.header(NODE_HEADER) ?? remoteAddress(c);
      const bannedUntil = this.#o.limits.bannedUntil(client);
      const auth = c.req.header('authorization') ?? '';
      const token = auth.startsWith('Bot ') && this.#o.tokens.has(auth.slice(4)) ? auth.slice(4) : null;
      if (bannedUntil !== null) {
        // The ban's own answer: no rate limit headers, no Retry-After, no Via.
        this.#o.stats.record({ token, client, route: null, status: 429, limitedBy: null, invalid: false, banned: true, banStarted: false });
        return c.json({ code: 0, message: BAN_MESSAGE }, 429);
      }
      const info: RequestInfo = { token, client, route: null, limitedBy: null };
      this.#info.set(c.req.raw, info);
      // The gateway URL needs no token, nor does an interaction callback (its own token authorizes it).
      const open = (c.req.method === 'GET' && /\/gateway\/?$/.test(c.req.path)) || isInteractionCallback(c.req.path);
      if (!open && token === null) {
        c.res = c.json({ message: '401: Unauthorized', code: 0 }, 401);
      } else {
        await next();
      }
      c.res.headers.set('Via', '1.1 google');
      const scope = info.limitedBy === null ? null : info.limitedBy === 'shared' ? 'shared' : info.limitedBy === 'global' ? 'global' : 'user';
      const status = c.res.status;
      const invalid = status === 401 || status === 403 || (status === 429 && scope !== 'shared');
      const banStarted = this.#o.limits.recordAnswer(client, status, scope);
      this.#o.stats.record({ token, client, route: info.route, status, limitedBy: info.limitedBy, invalid, banned: false, banStarted });
    };
  }

  /** Registers the limits of every route in `routes` ahead of its handler. */
  install(api: Hono, routes: readonly RouteLimits[]): void {
    for (const route of routes) api.on(route.method, route.path, this.#limit(route));
  }

  #limit(route: RouteLimits): MiddlewareHandler {
    const name = `${route.method} ${route.path}`;
    return async (c, next) => {
      const info = this.#info.get(c.req.raw);
      if (!info || info.token === null) return next();
      info.route = name;
      const body = route.sublimit ? await c.req.json().catch(() => undefined) : undefined;
      const decision = this.#o.limits.decide({ token: info.token, client: info.client, route, params: c.req.param() as Record<string, string>, body });
      if (decision.kind === 'banned') return c.json({ code: 0, message: BAN_MESSAGE }, 429);
      if (decision.kind !== 'ok') {
        info.limitedBy = decision.kind;
        return tooMany(c, decision);
      }
      if (decision.bucket) bucketHeaders(c, decision.bucket);
      await next();
    };
  }
}

function remoteAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // Not served by @hono/node-server (app.request() in a test): one anonymous client.
    return 'unknown';
  }
}

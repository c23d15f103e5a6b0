import { DefaultRestOptions, REST, RESTEvents, type InternalRequest, type RateLimitData, type ResponseLike, type RouteData } from '@discordjs/rest';
import { deadlineError, type BudgetWait, type RestBudgetClient } from '../cluster/rest-budget-client.ts';
import { isShardlineError } from '../core/errors.ts';
import type { BucketKey, BucketObservation } from '../core/rest-bucket-board.ts';

export interface BudgetedRestOptions {
  readonly apiUrl: string;
  readonly token: string;
  readonly budget: RestBudgetClient;
  /** Sent on every request as `X-Shardline-Node` (the simulator counts per node with it). */
  readonly nodeHeader?: string;
  /** How long one attempt may take on the network, as @discordjs/rest's own `timeout` (default 15 s). */
  readonly requestTimeoutMs?: number;
}

const API_VERSION = '10';
/** @discordjs/rest's request timeout would also run while a request waits for the budget; ours starts when it leaves. */
const NO_LIBRARY_TIMEOUT_MS = 2 ** 31 - 1;

/** @discordjs/rest's own route key: its `generateRouteData` is internal, so the budget asks it through this door. */
const routeData = (REST as unknown as { generateRouteData(endpoint: string, method: string): RouteData }).generateRouteData.bind(REST);

function headerNumber(res: ResponseLike, name: string): number | null {
  const raw = res.headers.get(name);
  if (raw === null || raw === '') return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

/** What a response says about its bucket, in milliseconds. */
export function observation(res: ResponseLike): BucketObservation {
  const scope = res.headers.get('x-ratelimit-global') !== null ? 'global' : res.headers.get('x-ratelimit-scope');
  const resetAfter = headerNumber(res, 'x-ratelimit-reset-after');
  const reset = headerNumber(res, 'x-ratelimit-reset');
  const retryAfter = headerNumber(res, 'retry-after');
  return {
    status: res.status,
    hash: res.headers.get('x-ratelimit-bucket'),
    limit: headerNumber(res, 'x-ratelimit-limit'),
    remaining: headerNumber(res, 'x-ratelimit-remaining'),
    resetAfterMs: resetAfter === null ? null : resetAfter * 1000,
    retryAfterMs: retryAfter === null ? null : retryAfter * 1000,
    scope: scope === 'global' || scope === 'user' || scope === 'shared' ? scope : null,
    serverTimeMs: reset === null || resetAfter === null ? null : Math.round((reset - resetAfter) * 1000),
  };
}

/** Carries a request's own AbortSignal from queueRequest() to makeRequest(), which only sees the library's. */
const TICKET_HEADER = 'x-shardline-ticket';

interface Ticket {
  readonly signal: AbortSignal;
  readonly since: number;
  /** Where the request is: in the library's queue for its bucket, waiting for the budget, or sent. */
  stage: 'library' | 'budget' | 'sent';
}

/**
 * `ctx.rest`: an unmodified @discordjs/rest REST in every way a handler can see (same API,
 * events, buckets and retries), whose requests wait, just before they leave, for this node's
 * share of the cluster's REST budget. A request whose AbortSignal ends its wait (a deadline:
 * `signal: AbortSignal.timeout(ms)`) rejects at once with a ShardlineError that says what it
 * waited for, and is never sent; one already sent is answered.
 */
class BudgetedRest extends REST {
  readonly tickets = new Map<string, Ticket>();
  #next = 0;

  override async queueRequest(request: InternalRequest): Promise<ResponseLike> {
    const signal = request.signal as AbortSignal | undefined;
    if (!signal) return super.queueRequest(request);
    const id = String((this.#next += 1));
    const ticket: Ticket = { signal, since: Date.now(), stage: 'library' };
    this.tickets.set(id, ticket);
    const work = super.queueRequest({ ...request, headers: { ...request.headers, [TICKET_HEADER]: id } });
    // Once it is abandoned here, makeRequest() refuses it when the library gets to it: it is never sent.
    void work.catch(() => {}).finally(() => this.tickets.delete(id));
    let onAbort: (() => void) | undefined;
    // The library's own waits (its queue, its bucket sleeps) do not all end on an abort: the deadline does not wait for them.
    const abandoned = new Promise<never>((_resolve, reject) => {
      onAbort = () => {
        if (ticket.stage === 'library') reject(deadlineError(`${request.method.toUpperCase()} ${request.fullRoute}`, signal, Date.now() - ticket.since, 'waiting behind earlier requests to the same bucket'));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([work, abandoned]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
}

export function createBudgetedRest(options: BudgetedRestOptions): REST {
  const base = `${options.apiUrl}/v${API_VERSION}`;
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  let rest: BudgetedRest;
  const makeRequest = async (url: string, init: Parameters<typeof DefaultRestOptions.makeRequest>[1]): Promise<ResponseLike> => {
    const method = (init.method ?? 'GET').toUpperCase();
    const path = (url.startsWith(base) ? url.slice(base.length) : new URL(url).pathname).split('?')[0]!;
    const data = routeData(path, method);
    const learned = rest.hashes.get(`${method}:${data.bucketRoute}`)?.value ?? null;
    const key: BucketKey = { route: `${method}:${data.bucketRoute}`, hash: learned, major: data.majorParameter };
    const { [TICKET_HEADER]: ticketId, ...headers } = (init.headers ?? {}) as Record<string, string>;
    const ticket = ticketId === undefined ? undefined : rest.tickets.get(ticketId);
    // The caller's signal says why a wait ended (a deadline); the library's copy of it only that it did.
    const signal = ticket?.signal ?? ((init.signal ?? undefined) as AbortSignal | undefined);
    if (ticket) ticket.stage = 'budget';
    const slot = await options.budget.acquire(key, `${method} ${path}`, {
      exempt: data.bucketRoute === '/interactions/:id/:token/callback',
      ...(signal ? { signal } : {}),
      ...(ticket ? { since: ticket.since } : {}),
      onWait: (wait) => emitWait(rest, wait, method, url, data, learned),
    });
    if (ticket) ticket.stage = 'sent';
    // One attempt's network timeout, raised as @discordjs/rest raises its own (an AbortError it retries).
    // The caller's signal no longer applies: its deadline is to be sent, and this request has left.
    const attempt = new AbortController();
    const timer = setTimeout(() => attempt.abort(), timeoutMs);
    try {
      const res = await DefaultRestOptions.makeRequest(url, { ...init, headers, signal: attempt.signal as NonNullable<typeof init.signal> });
      const seen = observation(res);
      options.budget.release(slot, seen.serverTimeMs);
      options.budget.observe(key, seen);
      return res;
    } catch (error) {
      options.budget.release(slot, null);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
  rest = new BudgetedRest({
    api: options.apiUrl,
    version: API_VERSION,
    hashSweepInterval: 0,
    handlerSweepInterval: 0,
    // The budget enforces the global limit across the cluster; the library's per-process count would only second-guess it.
    globalRequestsPerSecond: Number.POSITIVE_INFINITY,
    timeout: NO_LIBRARY_TIMEOUT_MS,
    makeRequest,
    ...(options.nodeHeader ? { headers: { 'x-shardline-node': options.nodeHeader } } : {}),
  });
  rest.setToken(options.token);
  return rest;
}

/** The library's `rateLimited` event, for a wait the budget imposes, as it emits one for its own. */
function emitWait(rest: REST, wait: BudgetWait, method: string, url: string, data: RouteData, hash: string | null): void {
  if (rest.listenerCount(RESTEvents.RateLimited) === 0) return;
  const event: RateLimitData = {
    global: wait.global,
    method,
    url,
    route: data.bucketRoute,
    majorParameter: data.majorParameter,
    hash: hash ?? `Global(${method}:${data.bucketRoute})`,
    limit: wait.limit,
    timeToReset: wait.waitMs,
    retryAfter: wait.waitMs,
    sublimitTimeout: 0,
    scope: 'user',
  };
  rest.emit(RESTEvents.RateLimited, event);
}

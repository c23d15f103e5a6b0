import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ShardlineError, isShardlineError } from '../core/errors.ts';
import { SILENT_LOGGER } from '../core/silent-logger.ts';
import { RestBudgetClient } from './rest-budget-client.ts';
import type { LeaseGrant, LeaseRequest } from './rest-budget-protocol.ts';

const key = { route: 'POST:/channels/:id/messages', hash: null, major: '1' };

/** A deadline the fake clock controls (AbortSignal.timeout runs on the real one): aborts with a TimeoutError after `ms`. */
function deadline(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')), ms);
  return controller.signal;
}

function grant(overrides: Partial<LeaseGrant> = {}): LeaseGrant {
  return { primary: 'p', limit: 30, share: 10, ttlMs: 1_000, fallbackShare: 7, nodes: 4, shares: {}, invalid: { count: 0, limit: 1_000, windowMs: 60_000 }, buckets: [], ...overrides };
}

describe('RestBudgetClient', () => {
  let primary: string | null;
  let answer: (request: LeaseRequest) => LeaseGrant | Error;
  let client: RestBudgetClient;
  const requests: LeaseRequest[] = [];

  beforeEach(() => {
    vi.useFakeTimers({ now: 10_000 });
    primary = 'p';
    answer = () => grant();
    requests.length = 0;
    client = new RestBudgetClient({
      nodeId: 'n',
      limit: 30,
      windowMs: 1_000,
      leaseIntervalMs: 200,
      fallbackMs: 3_000,
      invalidLimit: 1_000,
      invalidWindowMs: 60_000,
      logger: SILENT_LOGGER,
      primaryNow: () => primary,
      lease: async (request) => {
        requests.push(request);
        const a = answer(request);
        if (a instanceof Error) throw a;
        return a;
      },
    });
  });

  afterEach(() => {
    client.close();
    vi.useRealTimers();
  });

  it('spends nothing before its first lease, its share while the lease lasts, its fallback after, and nothing once the fallback time is over', async () => {
    expect(client.status()).toMatchObject({ share: 0, source: 'waiting-for-first-lease' });
    await client.refresh();
    expect(client.status()).toMatchObject({ share: 10, source: 'lease', primary: 'p' });
    answer = () => new ShardlineError('GATEWAY_UNAVAILABLE', 'down');
    vi.advanceTimersByTime(1_000);
    await client.refresh();
    expect(client.status()).toMatchObject({ share: 7, source: 'fallback' });
    vi.advanceTimersByTime(2_000);
    expect(client.status()).toMatchObject({ share: 0, source: 'stopped' });
  });

  it('takes over its part of a primary that lost the lease, once that primary\'s leases have ended', async () => {
    await client.refresh();
    primary = null;
    client.leadershipChanged();
    expect(client.status().formerPrimary).toBe('p');
    vi.advanceTimersByTime(1_000);
    // The lease ended and the former primary's leases too: the limit among the other 3 nodes.
    expect(client.status()).toMatchObject({ share: 10, source: 'fallback' });
    answer = () => grant({ primary: 'q', share: 12 });
    primary = 'q';
    await client.refresh();
    expect(requests.at(-1)!.formerPrimary).toBe('p');
    expect(client.status()).toMatchObject({ share: 12, formerPrimary: null, primary: 'q' });
  });

  it('a primary that loses the lease drops its own grant at once and waits for the next primary', async () => {
    primary = 'n';
    answer = () => grant({ primary: 'n', share: 20 });
    await client.refresh();
    expect(client.status().share).toBe(20);
    primary = 'q';
    client.leadershipChanged();
    expect(client.status()).toMatchObject({ share: 0, source: 'demoted' });
    expect(client.lastPrimary).toBeNull();
  });

  it('lets requests go as its share allows, oldest first, and holds each slot until a window after the decision', async () => {
    answer = () => grant({ share: 2 });
    await client.refresh();
    const a = await client.acquire(key, 'POST /a');
    const b = await client.acquire(key, 'POST /b');
    const order: string[] = [];
    const c = client.acquire(key, 'POST /c').then((slot) => (order.push('c'), slot));
    const d = client.acquire(key, 'POST /d').then((slot) => (order.push('d'), slot));
    await vi.advanceTimersByTimeAsync(500);
    expect(order).toEqual([]);
    client.release(a, null); // answered at 10 500: frees at 11 500
    client.release(b, null);
    await vi.advanceTimersByTimeAsync(999);
    expect(order).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(order).toEqual(['c', 'd']);
    await Promise.all([c, d]);
    expect(client.status().sent).toBe(4);
  });

  it('rejects a request whose deadline passes while it waits, saying for what, and one still waiting at close', async () => {
    answer = () => grant({ share: 1 });
    await client.refresh();
    await client.acquire(key, 'POST /first');
    const late = client.acquire(key, 'POST /channels/1/messages', { signal: deadline(300) });
    const error = late.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(300);
    const e = (await error) as ShardlineError;
    expect(isShardlineError(e, 'TIMEOUT')).toBe(true);
    expect(e.message).toMatch(/^Cannot send POST \/channels\/1\/messages: its deadline passed after 300 ms waiting for the cluster's REST budget: this node's share is 1 of 30 requests\/s \(lease\); .*it was not sent$/);
    const waiting = client.acquire(key, 'POST /x').catch((x: unknown) => x);
    client.close();
    expect(isShardlineError(await waiting, 'CLOSED')).toBe(true);
  });

  it('interaction callbacks take no slot', async () => {
    answer = () => grant({ share: 1 });
    await client.refresh();
    await client.acquire(key, 'POST /first');
    expect(await client.acquire(key, 'POST /interactions/1/t/callback', { exempt: true })).toBeNull();
  });

  it('slows down as the cluster nears the ban and stops before it', async () => {
    answer = () => grant({ share: 20, invalid: { count: 0, limit: 1_000, windowMs: 60_000 } });
    await client.refresh();
    const forbidden = { status: 403, hash: null, limit: null, remaining: null, resetAfterMs: null, retryAfterMs: null, scope: null, serverTimeMs: null };
    for (let i = 0; i < 10; i += 1) client.observe(key, forbidden);
    expect(client.status().invalid).toMatchObject({ local: 10, cluster: 10, level: 'ok' });
    // The primary counts 850 for the whole cluster: past throttle (700), short of stop (900).
    answer = () => grant({ share: 20, invalid: { count: 850, limit: 1_000, windowMs: 60_000 } });
    await client.refresh();
    expect(client.status().invalid).toMatchObject({ cluster: 850, level: 'throttle', throttleAt: 700, stopAt: 900 });
    for (let i = 0; i < 50; i += 1) client.observe(key, forbidden);
    expect(client.status().invalid).toMatchObject({ cluster: 900, level: 'stop' });
    const held = client.acquire(key, 'POST /x', { signal: deadline(1_000) }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    const e = (await held) as Error;
    expect(e.message).toMatch(/throttled because the cluster had 900 invalid answers of the 1000 that get the IP banned/);
  });
});

import { describe, expect, it } from 'vitest';
import { RestLimits, isInvalidAnswer, type RestRequest } from './rest-limits.ts';
import { ROUTE_LIMITS, bucketHash, type RouteLimits } from './rest-route-limits.ts';
import { RestWindow, SlidingCount } from './rest-window.ts';

function route(method: string, path: string): RouteLimits {
  const found = ROUTE_LIMITS.find((r) => r.method === method && r.path === path);
  if (!found) throw new Error(`no route ${method} ${path}`);
  return found;
}

const createMessage = route('POST', '/channels/:channelId/messages');
const addReaction = route('PUT', '/channels/:channelId/messages/:messageId/reactions/:emoji/@me');
const removeReaction = route('DELETE', '/channels/:channelId/messages/:messageId/reactions/:emoji/@me');
const callback = route('POST', '/interactions/:interactionId/:interactionToken/callback');
const editChannel = route('PATCH', '/channels/:channelId');
const editRole = route('PATCH', '/guilds/:guildId/roles/:roleId');

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function req(r: RouteLimits, params: Record<string, string>, extra: Partial<RestRequest> = {}): RestRequest {
  return { token: 't', client: 'a', route: r, params, body: {}, ...extra };
}

describe('RestWindow', () => {
  it('opens with the first request, holds limit requests, and resets windowMs later', () => {
    const w = new RestWindow(2, 1_000);
    expect(w.take(10)).toBe(true);
    expect(w.resetAt(10)).toBe(1_010);
    expect(w.take(500)).toBe(true);
    expect(w.take(900)).toBe(false);
    expect(w.remaining(900)).toBe(0);
    expect(w.take(1_010)).toBe(true);
    expect(w.resetAt(1_010)).toBe(2_010);
  });
});

describe('SlidingCount', () => {
  it('forgets entries older than its window one by one', () => {
    const c = new SlidingCount(100);
    c.add(0);
    c.add(50);
    expect(c.count(99)).toBe(2);
    expect(c.count(100)).toBe(1);
    expect(c.count(150)).toBe(0);
  });
});

describe('RestLimits', () => {
  it('every route in the table has a sane limit, and routes that share a bucket share its figures', () => {
    const byBucket = new Map<string, { limit: number; windowMs: number }>();
    for (const r of ROUTE_LIMITS) {
      if (r.major !== null) expect(r.path).toContain(`:${r.major}`);
      if (!r.bucket) {
        expect(r.globalExempt).toBe(true);
        continue;
      }
      expect(r.bucket.limit).toBeGreaterThan(0);
      expect(r.bucket.windowMs).toBeGreaterThan(0);
      const seen = byBucket.get(r.bucket.bucket);
      if (seen) expect(seen).toEqual({ limit: r.bucket.limit, windowMs: r.bucket.windowMs });
      byBucket.set(r.bucket.bucket, { limit: r.bucket.limit, windowMs: r.bucket.windowMs });
    }
    expect(bucketHash('channel-messages')).toMatch(/^[0-9a-f]{16}$/);
    expect(bucketHash('channel-messages')).not.toBe(bucketHash('channel-reactions'));
  });

  it('limits a bucket per major parameter and reports it as the headers do', () => {
    const c = clock();
    const limits = new RestLimits({ now: c.now });
    for (let i = 0; i < 5; i += 1) expect(limits.decide(req(createMessage, { channelId: '1' })).kind).toBe('ok');
    const limited = limits.decide(req(createMessage, { channelId: '1' }));
    expect(limited).toMatchObject({ kind: 'user', retryAfterMs: 5_000, bucket: { limit: 5, remaining: 0, hash: bucketHash('channel-messages') } });
    // Another channel is another bucket; another token too.
    expect(limits.decide(req(createMessage, { channelId: '2' }))).toMatchObject({ kind: 'ok', bucket: { remaining: 4, resetAfterMs: 5_000 } });
    expect(limits.decide(req(createMessage, { channelId: '1' }, { token: 'u' })).kind).toBe('ok');
    c.advance(5_000);
    expect(limits.decide(req(createMessage, { channelId: '1' }))).toMatchObject({ kind: 'ok', bucket: { remaining: 4 } });
  });

  it('the reaction routes share one strict bucket per channel', () => {
    const c = clock();
    const limits = new RestLimits({ now: c.now });
    expect(limits.decide(req(addReaction, { channelId: '1', messageId: '9', emoji: 'x' })).kind).toBe('ok');
    expect(limits.decide(req(removeReaction, { channelId: '1', messageId: '8', emoji: 'y' }))).toMatchObject({ kind: 'user', retryAfterMs: 250 });
    c.advance(250);
    expect(limits.decide(req(removeReaction, { channelId: '1', messageId: '8', emoji: 'y' })).kind).toBe('ok');
  });

  it('holds every token to its global limit per second, with a per-bot override, and exempts interaction callbacks', () => {
    const c = clock();
    const limits = new RestLimits({ now: c.now, globalLimit: 3, globalLimitByToken: { big: 5 } });
    for (let i = 0; i < 3; i += 1) expect(limits.decide(req(createMessage, { channelId: String(i) })).kind).toBe('ok');
    c.advance(400);
    expect(limits.decide(req(createMessage, { channelId: '9' }))).toEqual({ kind: 'global', retryAfterMs: 600 });
    for (let i = 0; i < 10; i += 1) expect(limits.decide(req(callback, { interactionId: String(i), interactionToken: 'x' })).kind).toBe('ok');
    for (let i = 0; i < 5; i += 1) expect(limits.decide(req(createMessage, { channelId: String(i) }, { token: 'big' })).kind).toBe('ok');
    expect(limits.decide(req(createMessage, { channelId: '7' }, { token: 'big' })).kind).toBe('global');
    c.advance(600);
    expect(limits.decide(req(createMessage, { channelId: '9' })).kind).toBe('ok');
  });

  it('a shared limit answers for the resource whoever spends it, while the bucket still has room', () => {
    const c = clock();
    const limits = new RestLimits({ now: c.now });
    const edit = (token: string) => limits.decide(req(editRole, { guildId: '1', roleId: '5' }, { token }));
    expect(edit('t').kind).toBe('ok');
    expect(edit('u').kind).toBe('ok');
    const shared = edit('t');
    expect(shared).toMatchObject({ kind: 'shared', retryAfterMs: 10_000 });
    expect(shared.kind === 'shared' && shared.bucket!.remaining).toBeGreaterThan(0);
    expect(limits.decide(req(editRole, { guildId: '1', roleId: '6' })).kind).toBe('ok');
  });

  it('a sublimit (channel renames) answers 429 with room left in the bucket; other edits pass', () => {
    const c = clock();
    const limits = new RestLimits({ now: c.now });
    const rename = () => limits.decide(req(editChannel, { channelId: '1' }, { body: { name: 'x' } }));
    expect(rename().kind).toBe('ok');
    expect(rename().kind).toBe('ok');
    const sub = rename();
    expect(sub).toMatchObject({ kind: 'sublimit', retryAfterMs: 600_000 });
    expect(sub.kind === 'sublimit' && sub.bucket!.remaining).toBe(3);
    expect(limits.decide(req(editChannel, { channelId: '1' }, { body: { nsfw: true } })).kind).toBe('ok');
  });

  it('counts 401, 403 and non-shared 429 per client and bans at the limit for banMs', () => {
    expect([401, 403, 404, 429].map((s) => isInvalidAnswer(s, s === 429 ? 'user' : null))).toEqual([true, true, false, true]);
    expect(isInvalidAnswer(429, 'shared')).toBe(false);
    const c = clock();
    const limits = new RestLimits({ now: c.now, invalidLimit: 3, invalidWindowMs: 1_000, banMs: 5_000 });
    expect(limits.recordAnswer('a', 403, null)).toBe(false);
    expect(limits.recordAnswer('a', 429, 'shared')).toBe(false);
    expect(limits.recordAnswer('b', 401, null)).toBe(false);
    c.advance(999);
    expect(limits.recordAnswer('a', 429, 'user')).toBe(false);
    expect(limits.invalidCount('a')).toBe(2);
    c.advance(1);
    // The first one left the window: still two.
    expect(limits.recordAnswer('a', 401, null)).toBe(false);
    expect(limits.recordAnswer('a', 403, null)).toBe(true);
    expect(limits.bannedUntil('a')).toBe(c.now() + 5_000);
    expect(limits.decide(req(createMessage, { channelId: '1' }, { client: 'a' }))).toEqual({ kind: 'banned', untilMs: c.now() + 5_000 });
    expect(limits.decide(req(createMessage, { channelId: '1' }, { client: 'b' })).kind).toBe('ok');
    c.advance(5_000);
    expect(limits.bannedUntil('a')).toBeNull();
    expect(limits.decide(req(createMessage, { channelId: '1' }, { client: 'a' })).kind).toBe('ok');
  });

  it('refuses nonsense settings', () => {
    expect(() => new RestLimits({ globalLimit: 0 })).toThrow(/globalLimit must be a positive number/);
    expect(() => new RestLimits({ banMs: -1 })).toThrow(/banMs/);
  });
});

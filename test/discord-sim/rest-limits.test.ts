import { REST, type RateLimitData } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { BAN_MESSAGE, NODE_HEADER } from '../../src/discord-sim/rest-gate.ts';
import { FakeDiscord, type FakeDiscordOptions } from '../../src/discord-sim/fake-discord.ts';
import { bucketHash } from '../../src/discord-sim/rest-route-limits.ts';

describe('the simulated Discord enforces REST limits and answers like Discord', () => {
  let discord: FakeDiscord | undefined;
  let rest: REST | undefined;
  let restNow = 1_700_000_000_000;

  afterEach(async () => {
    rest?.clearHashSweeper();
    rest?.clearHandlerSweeper();
    rest = undefined;
    await discord?.close();
    discord = undefined;
  });

  async function sim(options: FakeDiscordOptions['rest'] = {}, clock = true) {
    discord = new FakeDiscord({ world: { seed: 5, guilds: 2, membersPerGuild: 6 }, rest: { ...(clock ? { now: () => restNow } : {}), ...options } });
    await discord.start();
    const guild = [...discord.world.guilds.values()][0]!;
    const channels = [...guild.channels.values()].filter((c) => c.type === 0);
    const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${discord!.restUrl}/v10${path}`, {
        method,
        headers: { authorization: 'Bot fake-token', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    return { guild, channels, call };
  }

  it('sends the X-RateLimit headers and Via on a limited route', async () => {
    const { channels, call } = await sim();
    const res = await call('POST', `/channels/${channels[0]!.id}/messages`, { content: 'a' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe('5');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('4');
    expect(res.headers.get('x-ratelimit-reset-after')).toBe('5.000');
    expect(res.headers.get('x-ratelimit-reset')).toBe(((restNow + 5_000) / 1000).toFixed(3));
    expect(res.headers.get('x-ratelimit-bucket')).toBe(bucketHash('channel-messages'));
    expect(res.headers.get('via')).toBe('1.1 google');
  });

  it("answers a spent bucket with Discord's 429: user scope, Retry-After rounded up, retry_after exact", async () => {
    const { channels, call } = await sim();
    const path = `/channels/${channels[0]!.id}/messages`;
    for (let i = 0; i < 5; i += 1) expect((await call('POST', path, { content: String(i) })).status).toBe(200);
    restNow += 1_500;
    const res = await call('POST', path, { content: 'too many' });
    expect(res.status).toBe(429);
    expect(res.headers.get('x-ratelimit-scope')).toBe('user');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(res.headers.get('retry-after')).toBe('4');
    expect(res.headers.get('x-ratelimit-global')).toBeNull();
    expect(await res.json()).toEqual({ message: 'You are being rate limited.', retry_after: 3.5, global: false });
    // Another channel is another bucket.
    expect((await call('POST', `/channels/${channels[1]!.id}/messages`, { content: 'x' })).status).toBe(200);
  });

  it('holds a token to its global limit (exempting interaction callbacks) and answers a global 429 without bucket headers', async () => {
    const { channels, call } = await sim({ globalLimit: 3 });
    for (let i = 0; i < 3; i += 1) expect((await call('GET', `/channels/${channels[i % channels.length]!.id}`)).status).toBe(200);
    discord!.traffic.setMix({ INTERACTION_CREATE: 1 });
    discord!.traffic.emit(1);
    const [interaction] = [...discord!.world.interactions.values()];
    expect((await call('POST', `/interactions/${interaction!.id}/${interaction!.token}/callback`, { type: 1 })).status).toBe(204);
    restNow += 250;
    const res = await call('GET', `/channels/${channels[0]!.id}`);
    expect(res.status).toBe(429);
    expect(res.headers.get('x-ratelimit-global')).toBe('true');
    expect(res.headers.get('x-ratelimit-scope')).toBe('global');
    expect(res.headers.get('retry-after')).toBe('1');
    expect(res.headers.get('x-ratelimit-bucket')).toBeNull();
    expect(await res.json()).toEqual({ message: 'You are being rate limited.', retry_after: 0.75, global: true });
    const stats = discord!.restStats;
    expect(stats.byToken['fake-token']!.rateLimited.global).toBe(1);
    expect(stats.limits.globalLimit).toBe(3);
  });

  it('answers a shared limit with scope shared and room left, and does not count it as invalid', async () => {
    const { guild, call } = await sim();
    const role = [...guild.roles.keys()].find((id) => id !== guild.id)!;
    expect((await call('PATCH', `/guilds/${guild.id}/roles/${role}`, { hoist: true })).status).toBe(200);
    expect((await call('PATCH', `/guilds/${guild.id}/roles/${role}`, { hoist: false })).status).toBe(200);
    const res = await call('PATCH', `/guilds/${guild.id}/roles/${role}`, { hoist: true });
    expect(res.status).toBe(429);
    expect(res.headers.get('x-ratelimit-scope')).toBe('shared');
    expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeGreaterThan(0);
    expect(await res.json()).toMatchObject({ global: false, code: 40062 });
    const stats = discord!.restStats;
    expect(stats.total.rateLimited.shared).toBe(1);
    expect(stats.total.invalid).toBe(0);
  });

  it('answers the sublimit of channel renames with a 429 while the bucket has room', async () => {
    const { channels, call } = await sim();
    const path = `/channels/${channels[0]!.id}`;
    expect((await call('PATCH', path, { name: 'a' })).status).toBe(200);
    expect((await call('PATCH', path, { topic: 'b' })).status).toBe(200);
    const res = await call('PATCH', path, { name: 'c' });
    expect(res.status).toBe(429);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('3');
    expect(res.headers.get('x-ratelimit-scope')).toBe('user');
    expect(discord!.restStats.total.rateLimited.sublimit).toBe(1);
  });

  it('counts invalid answers per node, bans a node at the limit with the ban answer, and keeps the others serving', async () => {
    const { guild, channels, call } = await sim({ invalidLimit: 3, banMs: 60_000 });
    const kickOwner = (node: string) => call('DELETE', `/guilds/${guild.id}/members/${guild.guild.owner_id}`, undefined, { [NODE_HEADER]: node });
    expect((await kickOwner('n1')).status).toBe(403);
    expect((await kickOwner('n2')).status).toBe(403);
    const unauthorized = await fetch(`${discord!.restUrl}/v10/channels/${channels[0]!.id}`, { headers: { authorization: 'Bot wrong', [NODE_HEADER]: 'n1' } });
    expect(unauthorized.status).toBe(401);
    expect((await kickOwner('n1')).status).toBe(403);
    const banned = await call('GET', `/channels/${channels[0]!.id}`, undefined, { [NODE_HEADER]: 'n1' });
    expect(banned.status).toBe(429);
    expect(await banned.json()).toEqual({ code: 0, message: BAN_MESSAGE });
    for (const header of ['via', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-scope']) expect(banned.headers.get(header)).toBeNull();
    expect((await call('GET', `/channels/${channels[0]!.id}`, undefined, { [NODE_HEADER]: 'n2' })).status).toBe(200);

    const stats = (await (await fetch(`${discord!.restUrl.replace(/\/api$/, '')}/_sim/stats`)).json()) as { rest: { byClient: Record<string, { invalid: number; invalidInWindow: number; bans: number; bannedUntil: number | null; banned: number }> } };
    expect(stats.rest.byClient['n1']).toMatchObject({ invalid: 3, invalidInWindow: 3, bans: 1, bannedUntil: restNow + 60_000, banned: 1 });
    expect(stats.rest.byClient['n2']).toMatchObject({ invalid: 1, bans: 0, bannedUntil: null });

    expect((await fetch(`${discord!.restUrl.replace(/\/api$/, '')}/_sim/rest/forgive`, { method: 'POST' })).status).toBe(200);
    expect((await call('GET', `/channels/${channels[0]!.id}`, undefined, { [NODE_HEADER]: 'n1' })).status).toBe(200);
  });

  it('an unmodified @discordjs/rest pushed past a bucket reads the headers, waits by itself and emits rateLimited', async () => {
    const { channels, call } = await sim({}, false);
    const channelId = channels[0]!.id;
    const created = (await (await call('POST', `/channels/${channelId}/messages`, { content: 'react to me' })).json()) as { id: string };
    rest = new REST({ api: discord!.restUrl, version: '10' }).setToken('fake-token');
    const limited: RateLimitData[] = [];
    const headers: (string | null)[] = [];
    rest.on('rateLimited', (data) => limited.push(data));
    rest.on('response', (_request, response) => headers.push(response.headers.get('x-ratelimit-bucket')));
    const emojis = ['🍎', '🍐', '🍊', '🍋'];
    await Promise.all(emojis.map((e) => rest!.put(Routes.channelMessageOwnReaction(channelId, created.id, encodeURIComponent(e)))));

    // One bucket per channel, one reaction per 250 ms: the client spaced them out itself.
    const route = discord!.restStats.byRoute['PUT /channels/:channelId/messages/:messageId/reactions/:emoji/@me']!;
    expect(route.requests).toBe(4);
    expect(route.ok).toBe(4);
    expect(route.rateLimited.user).toBe(0);
    expect(headers).toEqual(Array(4).fill(bucketHash('channel-reactions')));
    expect(limited.length).toBeGreaterThanOrEqual(3);
    expect(limited[0]).toMatchObject({ global: false, limit: 1, majorParameter: channelId, route: '/channels/:id/messages/:id/reactions/:reaction', scope: 'user' });
  });
});

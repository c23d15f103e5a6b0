import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { ROUTE_LIMITS } from '../../src/discord-sim/rest-route-limits.ts';
import { ROUTE_HANDLERS } from '../../src/discord-sim/rest-routes.ts';
import { SimClient, identifiedClient } from './sim-client.ts';

const ALL_GUILD_INTENTS = 1 | 2 | (1 << 9) | (1 << 10) | (1 << 15);

describe('REST routes that act on the world', () => {
  let discord: FakeDiscord | undefined;
  const clients: SimClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await discord?.close();
    discord = undefined;
  });

  /** The REST limits' clock: the test moves it instead of sleeping through a bucket's window. */
  let restNow = 1_000_000;

  async function setup() {
    discord = new FakeDiscord({ identifySpacingMs: 0, heartbeatIntervalMs: 1_000, world: { seed: 3, guilds: 2, membersPerGuild: 6 }, rest: { now: () => restNow } });
    await discord.start();
    const { client } = await identifiedClient(discord.gatewayUrl, { intents: ALL_GUILD_INTENTS });
    clients.push(client);
    const guild = [...discord.world.guilds.values()][0]!;
    const channel = [...guild.channels.values()].find((c) => c.type === 0)!;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${discord!.restUrl}/v10${path}`, {
        method,
        headers: { authorization: 'Bot fake-token', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text === '' ? null : (JSON.parse(text) as Record<string, unknown>) };
    };
    const event = (t: string, match: (d: Record<string, unknown>) => boolean = () => true) =>
      client.next((p) => p.t === t && match(p.d as Record<string, unknown>)).then((p) => p.d as Record<string, unknown>);
    return { guild, channel, call, event };
  }

  it('every route with a handler has a limit entry, and every limited route a handler or a built-in one', () => {
    const limited = new Set(ROUTE_LIMITS.map((r) => `${r.method} ${r.path}`));
    for (const key of Object.keys(ROUTE_HANDLERS)) expect(limited.has(key), key).toBe(true);
    // The interaction callback is rest-interactions.ts's: it acts on the interactions the world sent.
    const builtIn = ['GET /gateway/bot', 'GET /users/@me', 'GET /applications/@me', 'POST /interactions/:interactionId/:interactionToken/callback'];
    for (const key of limited) expect(key in ROUTE_HANDLERS || builtIn.includes(key), key).toBe(true);
  });

  it('creates, edits, reacts to and deletes a message, dispatching each change', async () => {
    const { channel, guild, call, event } = await setup();
    const created = await call('POST', `/channels/${channel.id}/messages`, { content: 'first' });
    expect(created.status).toBe(200);
    const id = created.body!['id'] as string;
    await event('MESSAGE_CREATE', (d) => d['id'] === id);

    const edited = await call('PATCH', `/channels/${channel.id}/messages/${id}`, { content: 'second' });
    expect(edited.body).toMatchObject({ id, content: 'second' });
    expect(edited.body!['edited_timestamp']).toEqual(expect.any(String));
    expect(await event('MESSAGE_UPDATE', (d) => d['id'] === id)).toMatchObject({ content: 'second', guild_id: guild.id });

    expect((await call('PUT', `/channels/${channel.id}/messages/${id}/reactions/${encodeURIComponent('👍')}/@me`)).status).toBe(204);
    expect(await event('MESSAGE_REACTION_ADD')).toMatchObject({ message_id: id, emoji: { id: null, name: '👍' }, user_id: discord!.world.botUser.id });
    expect(await call('DELETE', `/channels/${channel.id}/messages/${id}/reactions/${encodeURIComponent('👍')}/@me`)).toMatchObject({ status: 429 });
    restNow += 250; // the reaction bucket allows one per 250 ms
    expect((await call('DELETE', `/channels/${channel.id}/messages/${id}/reactions/${encodeURIComponent('👍')}/@me`)).status).toBe(204);
    expect(await event('MESSAGE_REACTION_REMOVE')).toMatchObject({ message_id: id, emoji: { name: '👍' } });

    expect((await call('DELETE', `/channels/${channel.id}/messages/${id}`)).status).toBe(204);
    expect(await event('MESSAGE_DELETE')).toEqual({ id, channel_id: channel.id, guild_id: guild.id });
    expect(await call('PATCH', `/channels/${channel.id}/messages/${id}`, { content: 'x' })).toMatchObject({ status: 404, body: { code: 10008 } });
  });

  it("reacts to the traffic's messages, and refuses to edit another user's", async () => {
    const { call, event } = await setup();
    discord!.traffic.emit(20);
    const msg = await event('MESSAGE_CREATE');
    const path = `/channels/${msg['channel_id'] as string}/messages/${msg['id'] as string}`;
    expect((await call('PUT', `${path}/reactions/party:123456789012345678/@me`)).status).toBe(204);
    expect(await event('MESSAGE_REACTION_ADD', (d) => d['message_id'] === msg['id'])).toMatchObject({ emoji: { id: '123456789012345678', name: 'party' } });
    expect(await call('PATCH', path, { content: 'mine now' })).toMatchObject({ status: 403, body: { code: 50005 } });
  });

  it('reads and edits channels; a rename dispatches CHANNEL_UPDATE', async () => {
    const { channel, guild, call, event } = await setup();
    expect(await call('GET', `/channels/${channel.id}`)).toMatchObject({ status: 200, body: { id: channel.id, guild_id: guild.id } });
    const list = await call('GET', `/guilds/${guild.id}/channels`);
    expect((list.body as unknown as { id: string }[]).map((c) => c.id).sort()).toEqual([...guild.channels.keys()].sort());
    expect(await call('PATCH', `/channels/${channel.id}`, { name: 'renamed', topic: 'about' })).toMatchObject({ status: 200, body: { name: 'renamed', topic: 'about' } });
    expect(await event('CHANNEL_UPDATE')).toMatchObject({ id: channel.id, name: 'renamed' });
    expect(await call('GET', '/channels/1')).toMatchObject({ status: 404, body: { code: 10003 } });
    expect(await call('GET', '/guilds/1/channels')).toMatchObject({ status: 404, body: { code: 10004 } });
  });

  it('edits, re-roles and kicks members; the owner cannot be kicked (403)', async () => {
    const { guild, call, event } = await setup();
    const botId = discord!.world.botUser.id;
    const member = [...guild.members.values()].find((m) => m.user!.id !== guild.guild.owner_id && m.user!.id !== botId)!;
    const userId = member.user!.id;
    const roleId = [...guild.roles.keys()].find((id) => id !== guild.id)!;
    expect(await call('PATCH', `/guilds/${guild.id}/members/${userId}`, { nick: 'nicky' })).toMatchObject({ status: 200, body: { nick: 'nicky' } });
    expect(await event('GUILD_MEMBER_UPDATE', (d) => d['nick'] === 'nicky')).toMatchObject({ guild_id: guild.id, user: { id: userId } });
    await call('DELETE', `/guilds/${guild.id}/members/${userId}/roles/${roleId}`);
    expect((await call('PUT', `/guilds/${guild.id}/members/${userId}/roles/${roleId}`)).status).toBe(204);
    expect(await event('GUILD_MEMBER_UPDATE', (d) => (d['roles'] as string[]).includes(roleId))).toMatchObject({ user: { id: userId } });
    expect((await call('DELETE', `/guilds/${guild.id}/members/${userId}/roles/${roleId}`)).status).toBe(204);
    expect(guild.members.get(userId)!.roles).not.toContain(roleId);
    expect(await call('PUT', `/guilds/${guild.id}/members/${userId}/roles/1`)).toMatchObject({ status: 404, body: { code: 10011 } });
    expect(await call('DELETE', `/guilds/${guild.id}/members/${guild.guild.owner_id}`)).toMatchObject({ status: 403, body: { code: 50013 } });
    expect((await call('DELETE', `/guilds/${guild.id}/members/${userId}`)).status).toBe(204);
    expect(await event('GUILD_MEMBER_REMOVE')).toMatchObject({ guild_id: guild.id, user: { id: userId } });
    expect(guild.members.has(userId)).toBe(false);
    expect(await call('PATCH', `/guilds/${guild.id}/members/${userId}`, { nick: 'x' })).toMatchObject({ status: 404, body: { code: 10007 } });
  });

  it('creates and edits roles; answers interaction callbacks without counting them globally', async () => {
    const { guild, call, event } = await setup();
    const created = await call('POST', `/guilds/${guild.id}/roles`, { name: 'mods', color: 0xff0000 });
    expect(created.body).toMatchObject({ name: 'mods', color: 0xff0000 });
    const roleId = created.body!['id'] as string;
    expect(await event('GUILD_ROLE_CREATE')).toMatchObject({ guild_id: guild.id, role: { id: roleId } });
    expect(await call('PATCH', `/guilds/${guild.id}/roles/${roleId}`, { hoist: true })).toMatchObject({ status: 200, body: { hoist: true } });
    expect(await event('GUILD_ROLE_UPDATE')).toMatchObject({ role: { id: roleId, hoist: true } });
    expect(guild.roles.get(roleId)!.hoist).toBe(true);
    discord!.traffic.setMix({ INTERACTION_CREATE: 1 });
    discord!.traffic.emit(1);
    const [interaction] = [...discord!.world.interactions.values()];
    const path = `/interactions/${interaction!.id}/${interaction!.token}/callback`;
    expect(await call('POST', path, { type: 99 })).toMatchObject({ status: 400, body: { code: 50035 } });
    const callback = await call('POST', path, { type: 4, data: { content: 'hi' } });
    expect(callback.status).toBe(204);
    expect(callback.headers.get('x-ratelimit-bucket')).toBeNull();
    expect(await call('POST', path, { type: 4, data: { content: 'again' } })).toMatchObject({ status: 400, body: { code: 40060 } });
  });
});

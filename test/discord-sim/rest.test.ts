import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { SimClient, identifiedClient } from './sim-client.ts';

describe('REST', () => {
  let discord: FakeDiscord | undefined;
  const clients: SimClient[] = [];
  const auth = { authorization: 'Bot fake-token' };

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await discord?.close();
    discord = undefined;
  });

  async function sim(): Promise<FakeDiscord> {
    discord = new FakeDiscord({ shards: 3, maxConcurrency: 2, identifySpacingMs: 0, heartbeatIntervalMs: 400, sessionStartLimit: { total: 10 }, world: { guilds: 3 } });
    await discord.start();
    return discord;
  }

  it('answers GET /gateway without auth, under v10 and v9', async () => {
    await sim();
    for (const version of ['v10', 'v9']) {
      const res = await fetch(`${discord!.restUrl}/${version}/gateway`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ url: discord!.gatewayUrl });
    }
  });

  it('requires Bot auth on /gateway/bot and answers 401 JSON otherwise', async () => {
    await sim();
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bot nope' }, { authorization: 'fake-token' }];
    for (const headers of attempts) {
      const res = await fetch(`${discord!.restUrl}/v10/gateway/bot`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ message: '401: Unauthorized', code: 0 });
    }
  });

  it('answers /gateway/bot with url, shards and a live session_start_limit', async () => {
    await sim();
    const read = async () => (await (await fetch(`${discord!.restUrl}/v10/gateway/bot`, { headers: auth })).json()) as {
      url: string;
      shards: number;
      session_start_limit: { total: number; remaining: number; reset_after: number; max_concurrency: number };
    };
    const before = await read();
    expect(before.url).toBe(discord!.gatewayUrl);
    expect(before.shards).toBe(3);
    expect(before.session_start_limit).toMatchObject({ total: 10, remaining: 10, max_concurrency: 2 });
    expect(before.session_start_limit.reset_after).toBeGreaterThan(0);
    clients.push((await identifiedClient(discord!.gatewayUrl, { shard: [0, 3] })).client);
    expect((await read()).session_start_limit.remaining).toBe(9);
  });

  it('answers /users/@me and /applications/@me', async () => {
    await sim();
    const me = (await (await fetch(`${discord!.restUrl}/v10/users/@me`, { headers: auth })).json()) as { id: string; bot: boolean };
    expect(me).toMatchObject({ id: discord!.world.botUser.id, bot: true });
    const app = (await (await fetch(`${discord!.restUrl}/v10/applications/@me`, { headers: auth })).json()) as { id: string };
    expect(app.id).toBe(discord!.world.application.id);
    expect((await fetch(`${discord!.restUrl}/v10/users/@me`)).status).toBe(401);
  });

  it('creates a message, answers it, and dispatches MESSAGE_CREATE to the owning shard only', async () => {
    await sim();
    const guild = [...discord!.world.guilds.values()].find((g) => g.shardKey % 3 === 2)!;
    const channel = [...guild.channels.values()].find((c) => c.type === 0)!;
    const owning = await identifiedClient(discord!.gatewayUrl, { shard: [2, 3], intents: 1 | (1 << 9) });
    const other = await identifiedClient(discord!.gatewayUrl, { shard: [0, 3], intents: 1 | (1 << 9) });
    clients.push(owning.client, other.client);
    const res = await fetch(`${discord!.restUrl}/v10/channels/${channel.id}/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'hello' }),
    });
    expect(res.status).toBe(200);
    const message = (await res.json()) as { id: string; channel_id: string; content: string; author: { id: string } };
    expect(message).toMatchObject({ channel_id: channel.id, content: 'hello', author: { id: discord!.world.botUser.id } });
    const dispatched = await owning.client.next((p) => p.t === 'MESSAGE_CREATE');
    expect(dispatched.d).toMatchObject({ id: message.id, guild_id: guild.id });
    expect(other.client.received.some((p) => p.t === 'MESSAGE_CREATE')).toBe(false);
  });

  it('answers JSON errors for unknown channels, empty messages and unknown routes', async () => {
    await sim();
    const post = (channelId: string, body: string) =>
      fetch(`${discord!.restUrl}/v10/channels/${channelId}/messages`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
    const unknown = await post('123', '{"content":"x"}');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'Unknown Channel', code: 10003 });
    const channel = [...[...discord!.world.guilds.values()][0]!.channels.values()].find((c) => c.type === 0)!;
    const empty = await post(channel.id, '{}');
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { code: number }).code).toBe(50006);
    const garbage = await post(channel.id, '{');
    expect(garbage.status).toBe(400);
    const missing = await fetch(`${discord!.restUrl}/v10/nothing-here`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

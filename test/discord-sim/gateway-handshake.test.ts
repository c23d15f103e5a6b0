import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { FakeDiscordOptions } from '../../src/discord-sim/fake-discord.ts';
import { SimClient, identifiedClient } from './sim-client.ts';

const GUILDS = 1 << 0;
const GUILD_MEMBERS = 1 << 1;

describe('gateway handshake and IDENTIFY validation', () => {
  let discord: FakeDiscord | undefined;
  const clients: SimClient[] = [];

  async function sim(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    discord = new FakeDiscord({ heartbeatIntervalMs: 300, identifySpacingMs: 0, world: { guilds: 4, membersPerGuild: 3 }, ...options });
    await discord.start();
    return discord;
  }

  async function connect(query = '?v=10&encoding=json', path = '/'): Promise<SimClient> {
    const client = await SimClient.connect(`${discord!.gatewayUrl}${path}${query}`);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await discord?.close();
    discord = undefined;
  });

  it('sends HELLO at once with the configured interval and ACKs every heartbeat', async () => {
    await sim();
    const client = await connect();
    const hello = await client.next();
    expect(hello).toMatchObject({ op: 10, d: { heartbeat_interval: 300 }, s: null, t: null });
    client.send(1, null);
    await client.next((p) => p.op === 11);
    client.send(1, null);
    await client.next((p) => p.op === 11);
    expect(client.received.filter((p) => p.op === 11)).toHaveLength(2);
  });

  it.each(['/', '/gateway', '/gateway/', '/resume', '/resume/', ''])('accepts the gateway path %j', async (path) => {
    await sim();
    const client = await connect('?v=9&encoding=json', path);
    expect((await client.next()).op).toBe(10);
  });

  it('refuses unknown paths with a 404', async () => {
    await sim();
    await expect(SimClient.connect(`${discord!.gatewayUrl}/elsewhere?v=10`)).rejects.toThrow(/404/);
  });

  it.each([
    ['?v=8&encoding=json', 4012],
    ['?encoding=json', 4012],
    ['?v=10&encoding=etf', 4002],
    ['?v=10&encoding=json&compress=zstd-stream', 4002],
  ])('closes %s with %i', async (query, code) => {
    await sim();
    const client = await connect(query);
    expect(await client.closed()).toBe(code);
  });

  it('counts IDENTIFYs as session starts and echoes the shard in READY', async () => {
    await sim({ shards: 2, maxConcurrency: 2 });
    const { client, ready } = await identifiedClient(discord!.gatewayUrl, { shard: [1, 2] });
    clients.push(client);
    expect(ready.d.shard).toEqual([1, 2]);
    expect(ready.d.v).toBe(10);
    expect(ready.d.user.id).toBe(discord!.world.botUser.id);
    expect(ready.d.application.id).toBe(discord!.world.application.id);
    expect(ready.d.resume_gateway_url).toBe(`${discord!.gatewayUrl}/resume`);
    expect(discord!.stats.identifies).toBe(1);
    expect(discord!.stats.identifiesByShard).toEqual({ 1: 1 });
  });

  const identifyCases: Array<[string, (c: SimClient) => void, number, FakeDiscordOptions?]> = [
    ['a wrong token', (c) => c.identify('wrong', [0, 1], GUILDS), 4004],
    ['intents with undocumented bits', (c) => c.identify('fake-token', [0, 1], 1 << 30), 4013],
    ['intents that are not a number', (c) => c.send(2, { token: 'fake-token', shard: [0, 1], intents: 'all', properties: {} }), 4013],
    ['a privileged intent the application lacks', (c) => c.identify('fake-token', [0, 1], GUILDS | GUILD_MEMBERS), 4014, { applicationFlags: 0 }],
    ['shard id >= shard count', (c) => c.identify('fake-token', [2, 2], GUILDS), 4010],
    ['a negative shard id', (c) => c.identify('fake-token', [-1, 2], GUILDS), 4010],
    ['more than 2500 guilds on one shard', (c) => c.identify('fake-token', [0, 1], GUILDS), 4011, { world: { guilds: 2501, membersPerGuild: 0, channelsPerGuild: 3, rolesPerGuild: 1 } }],
    ['a payload before IDENTIFY', (c) => c.send(8, { guild_id: '1', query: '', limit: 0 }), 4003],
    ['bad JSON', (c) => c.ws.send('{"op": 1,'), 4002],
    ['a payload over 4096 bytes', (c) => c.send(3, { since: null, activities: [], status: 'x'.repeat(4100), afk: false }), 4002],
    ['an unknown opcode', (c) => c.send(99, null), 4001],
    ['a binary frame', (c) => c.ws.send(Buffer.from([1, 2, 3])), 4002],
  ];

  it.each(identifyCases)('closes on %s', async (_name, act, code, options) => {
    await sim(options);
    const client = await connect();
    await client.next((p) => p.op === 10);
    act(client);
    expect(await client.closed()).toBe(code);
    expect(discord!.stats.identifies).toBe(0);
  });

  it('accepts a "Bot " prefixed token', async () => {
    await sim();
    const { client } = await identifiedClient(discord!.gatewayUrl, { token: 'Bot fake-token' });
    clients.push(client);
    expect(discord!.stats.identifies).toBe(1);
  });

  it('closes a second IDENTIFY on the same socket with 4005', async () => {
    await sim();
    const { client } = await identifiedClient(discord!.gatewayUrl);
    clients.push(client);
    client.identify('fake-token', [0, 1], GUILDS);
    expect(await client.closed()).toBe(4005);
  });

  it('closes with 4008 after more than 120 payloads in 60 s (heartbeats excluded)', async () => {
    await sim();
    const { client } = await identifiedClient(discord!.gatewayUrl);
    clients.push(client);
    for (let i = 0; i < 200; i += 1) client.send(1, null);
    for (let i = 0; i < 119; i += 1) client.send(3, { since: null, activities: [], status: 'online', afk: false });
    await client.next((p) => p.op === 11);
    expect(client.closeCode).toBeNull();
    client.send(3, { since: null, activities: [], status: 'online', afk: false });
    client.send(3, { since: null, activities: [], status: 'online', afk: false });
    expect(await client.closed()).toBe(4008);
  });

  it('answers an IDENTIFY that breaks the bucket spacing with op 9 false and starts no session', async () => {
    await sim({ shards: 4, maxConcurrency: 2, identifySpacingMs: 60_000, invalidSessionDelayMs: 10 });
    const first = await identifiedClient(discord!.gatewayUrl, { shard: [0, 4] });
    clients.push(first.client);
    // Shard 1 is another bucket: allowed. Shard 2 shares bucket 0 with shard 0: refused.
    const second = await identifiedClient(discord!.gatewayUrl, { shard: [1, 4] });
    clients.push(second.client);
    const third = await connect();
    await third.next((p) => p.op === 10);
    third.identify('fake-token', [2, 4], GUILDS);
    const refusal = await third.next((p) => p.op === 9);
    expect(refusal.d).toBe(false);
    expect(third.dispatches()).toHaveLength(0);
    expect(discord!.stats.identifies).toBe(2);
    expect(discord!.stats.invalidSessions).toBe(1);
  });

  it('decrements session_start_limit.remaining per IDENTIFY and refuses when it is spent', async () => {
    await sim({ sessionStartLimit: { total: 2 } });
    const remaining = async (): Promise<number> => {
      const res = await fetch(`${discord!.restUrl}/v10/gateway/bot`, { headers: { authorization: 'Bot fake-token' } });
      return ((await res.json()) as { session_start_limit: { remaining: number } }).session_start_limit.remaining;
    };
    expect(await remaining()).toBe(2);
    clients.push((await identifiedClient(discord!.gatewayUrl)).client);
    expect(await remaining()).toBe(1);
    clients.push((await identifiedClient(discord!.gatewayUrl)).client);
    expect(await remaining()).toBe(0);
    const third = await connect();
    await third.next((p) => p.op === 10);
    third.identify('fake-token', [0, 1], GUILDS);
    expect((await third.next((p) => p.op === 9)).d).toBe(false);
    expect(discord!.stats.identifies).toBe(2);
  });
});

import { constants, createInflate } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { FakeDiscordOptions } from '../../src/discord-sim/fake-discord.ts';
import { shardForGuild } from '../../src/discord-sim/snowflake.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { SimClient, identifiedClient } from './sim-client.ts';

const GUILDS = 1 << 0;
const GUILD_MEMBERS = 1 << 1;
const GUILD_PRESENCES = 1 << 8;
const GUILD_MESSAGES = 1 << 9;
const MESSAGE_CONTENT = 1 << 15;

describe('dispatch routing, intents, compression, member chunks', () => {
  let discord: FakeDiscord | undefined;
  const clients: SimClient[] = [];

  async function sim(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    discord = new FakeDiscord({ heartbeatIntervalMs: 400, identifySpacingMs: 0, maxConcurrency: 4, world: { seed: 11, guilds: 9, membersPerGuild: 6 }, ...options });
    await discord.start();
    return discord;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await discord?.close();
    discord = undefined;
  });

  it('READY lists the shard\'s guilds and one GUILD_CREATE follows per guild, routed by (id >> 22) % n', async () => {
    await sim();
    const seen = new Set<string>();
    for (const shard of [0, 1, 2]) {
      const { client, ready } = await identifiedClient(discord!.gatewayUrl, { shard: [shard, 3], intents: GUILDS });
      clients.push(client);
      const ids: string[] = ready.d.guilds.map((g: { id: string; unavailable: boolean }) => {
        expect(g.unavailable).toBe(true);
        return g.id;
      });
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) expect(shardForGuild(id, 3)).toBe(shard);
      await client.next((p) => p.s === 1 + ids.length);
      const creates = client.dispatches().filter((p) => p.t === 'GUILD_CREATE');
      expect(creates.map((p) => p.d.id)).toEqual(ids);
      expect(creates.map((p) => p.s)).toEqual(ids.map((_, i) => i + 2));
      const first = creates[0]!.d;
      const world = discord!.world.guilds.get(first.id)!;
      expect(first.channels).toHaveLength(world.channels.size);
      expect(first.threads).toHaveLength(world.threads.size);
      expect(first.roles).toHaveLength(world.roles.size);
      expect(first.member_count).toBe(world.members.size);
      for (const id of ids) seen.add(id);
    }
    expect(seen.size).toBe(discord!.world.guilds.size);
  });

  it('sends guild events only to the owning shard and guild-less events only to shard 0', async () => {
    await sim();
    const a = await identifiedClient(discord!.gatewayUrl, { shard: [0, 2], intents: GUILDS | GUILD_MESSAGES });
    const b = await identifiedClient(discord!.gatewayUrl, { shard: [1, 2], intents: GUILDS | GUILD_MESSAGES });
    clients.push(a.client, b.client);
    const guildOn1 = [...discord!.world.guilds.values()].find((g) => g.shardKey % 2 === 1)!;
    expect(discord!.dispatchToGuild(guildOn1.id, 'GUILD_UPDATE', discord!.world.guildObject(guildOn1.id))).toBe(1);
    expect(discord!.dispatchGlobal('USER_UPDATE', discord!.world.botUser)).toBe(1);
    const update = await b.client.next((p) => p.t === 'GUILD_UPDATE');
    expect(update.d.id).toBe(guildOn1.id);
    await a.client.next((p) => p.t === 'USER_UPDATE');
    expect(a.client.received.some((p) => p.t === 'GUILD_UPDATE')).toBe(false);
    expect(b.client.received.some((p) => p.t === 'USER_UPDATE')).toBe(false);
  });

  it('filters dispatches by intents and strips message content without MESSAGE_CONTENT', async () => {
    await sim();
    const plain = await identifiedClient(discord!.gatewayUrl, { intents: GUILDS | GUILD_MESSAGES });
    const full = await identifiedClient(discord!.gatewayUrl, { intents: GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT | GUILD_PRESENCES });
    clients.push(plain.client, full.client);
    discord!.traffic.setMix({ MESSAGE_CREATE: 1, PRESENCE_UPDATE: 1 });
    discord!.traffic.emit(40);
    const counts = discord!.traffic.counts();
    const total = (counts.MESSAGE_CREATE ?? 0) + (counts.PRESENCE_UPDATE ?? 0);
    await waitFor(() => full.client.dispatches().filter((p) => p.t === 'MESSAGE_CREATE' || p.t === 'PRESENCE_UPDATE').length === total);
    await waitFor(() => plain.client.dispatches().filter((p) => p.t === 'MESSAGE_CREATE').length === counts.MESSAGE_CREATE);
    expect(plain.client.received.some((p) => p.t === 'PRESENCE_UPDATE')).toBe(false);
    const stripped = plain.client.dispatches().filter((p) => p.t === 'MESSAGE_CREATE');
    expect(stripped.every((p) => p.d.content === '' && p.d.embeds.length === 0)).toBe(true);
    const kept = full.client.dispatches().filter((p) => p.t === 'MESSAGE_CREATE');
    expect(kept.every((p) => p.d.content.startsWith('message '))).toBe(true);
    // The same message id reached both, in the same order.
    expect(stripped.map((p) => p.d.id)).toEqual(kept.map((p) => p.d.id));
  });

  it('keeps the content of the bot\'s own messages without MESSAGE_CONTENT', async () => {
    await sim();
    const { client } = await identifiedClient(discord!.gatewayUrl, { intents: GUILDS | GUILD_MESSAGES });
    clients.push(client);
    const channel = [...[...discord!.world.guilds.values()][0]!.channels.values()].find((c) => c.type === 0)!;
    const res = await fetch(`${discord!.restUrl}/v10/channels/${channel.id}/messages`, {
      method: 'POST',
      headers: { authorization: 'Bot fake-token', 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'own words' }),
    });
    const body = (await res.json()) as { id: string };
    const created = await client.next((p) => p.t === 'MESSAGE_CREATE');
    expect(created.d).toMatchObject({ id: body.id, content: 'own words', channel_id: channel.id });
  });

  it('sends zlib-stream frames as binary, each ending in 00 00 FF FF, decodable with one inflate context', async () => {
    await sim();
    const { client } = await identifiedClient(discord!.gatewayUrl, { compress: true, intents: GUILDS | GUILD_MESSAGES });
    clients.push(client);
    discord!.traffic.setMix({ MESSAGE_CREATE: 1 });
    discord!.traffic.emit(30);
    // HELLO, READY, 9 GUILD_CREATEs, 30 messages.
    await waitFor(() => client.binaryFrames.length === 2 + 9 + 30);
    const inflate = createInflate();
    const decoded: Array<{ op: number }> = [];
    let pending: Buffer[] = [];
    inflate.on('data', (chunk: Buffer) => pending.push(chunk));
    for (const frame of client.binaryFrames) {
      expect(frame.subarray(-4).toString('hex')).toBe('0000ffff');
      await new Promise<void>((resolve) => {
        inflate.write(frame);
        inflate.flush(constants.Z_SYNC_FLUSH, () => resolve());
      });
      decoded.push(JSON.parse(Buffer.concat(pending).toString()));
      pending = [];
    }
    inflate.close();
    expect(client.binaryFrames[0]!.subarray(0, 2).toString('hex')).toBe('789c');
    expect(decoded[0]!.op).toBe(10);
    expect(decoded.filter((p) => (p as { t?: string }).t === 'MESSAGE_CREATE')).toHaveLength(30);
  });

  it('answers op 8 with GUILD_MEMBERS_CHUNK: chunks of at most 1000, nonce, not_found, presences', async () => {
    await sim({ world: { seed: 5, guilds: 1, membersPerGuild: 2100, userPool: 2200 } });
    const { client } = await identifiedClient(discord!.gatewayUrl, { intents: GUILDS | GUILD_MEMBERS | GUILD_PRESENCES });
    clients.push(client);
    const guild = [...discord!.world.guilds.values()][0]!;
    client.send(8, { guild_id: guild.id, query: '', limit: 0, presences: true, nonce: 'all' });
    const chunks = [];
    for (let i = 0; i < 3; i += 1) chunks.push(await client.next((p) => p.t === 'GUILD_MEMBERS_CHUNK'));
    expect(chunks.map((c) => c.d.chunk_index)).toEqual([0, 1, 2]);
    expect(chunks.every((c) => c.d.chunk_count === 3 && c.d.nonce === 'all')).toBe(true);
    expect(chunks.every((c) => c.d.members.length <= 1000)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.d.members.length, 0)).toBe(guild.members.size);
    expect(chunks[0]!.d.presences).toHaveLength(1000);

    const someone = [...guild.members.keys()][5]!;
    client.send(8, { guild_id: guild.id, user_ids: [someone, '42'], nonce: 'ids' });
    const byId = await client.next((p) => p.t === 'GUILD_MEMBERS_CHUNK' && p.d.nonce === 'ids');
    expect(byId.d.members.map((m: { user: { id: string } }) => m.user.id)).toEqual([someone]);
    expect(byId.d.not_found).toEqual(['42']);
    expect(byId.d.presences).toBeUndefined();
  });

  it('answers a second all-members op 8 for a guild within 30 s with RATE_LIMITED, and still answers queries by name or id', async () => {
    await sim({ world: { seed: 5, guilds: 2, membersPerGuild: 20 } });
    const { client } = await identifiedClient(discord!.gatewayUrl, { intents: GUILDS | GUILD_MEMBERS });
    clients.push(client);
    const [first, second] = [...discord!.world.guilds.values()];
    client.send(8, { guild_id: first!.id, query: '', limit: 0, nonce: 'one' });
    await client.next((p) => p.t === 'GUILD_MEMBERS_CHUNK' && p.d.nonce === 'one');
    client.send(8, { guild_id: first!.id, query: '', limit: 0, nonce: 'two' });
    const limited = await client.next((p) => p.t === 'RATE_LIMITED');
    expect(limited.d).toMatchObject({ opcode: 8, meta: { guild_id: first!.id, nonce: 'two' } });
    expect(limited.d.retry_after).toBeGreaterThan(0);
    expect(limited.d.retry_after).toBeLessThanOrEqual(30);
    // Another guild, a name prefix and a list of ids are outside that limit.
    client.send(8, { guild_id: second!.id, query: '', limit: 0, nonce: 'other-guild' });
    await client.next((p) => p.t === 'GUILD_MEMBERS_CHUNK' && p.d.nonce === 'other-guild');
    client.send(8, { guild_id: first!.id, query: 'u', limit: 5, nonce: 'by-name' });
    await client.next((p) => p.t === 'GUILD_MEMBERS_CHUNK' && p.d.nonce === 'by-name');
    client.send(8, { guild_id: first!.id, user_ids: [[...first!.members.keys()][0]], nonce: 'by-id' });
    await client.next((p) => p.t === 'GUILD_MEMBERS_CHUNK' && p.d.nonce === 'by-id');
    expect(client.received.filter((p) => p.t === 'RATE_LIMITED')).toHaveLength(1);
  });

  it('accepts op 3 presence updates after IDENTIFY', async () => {
    await sim();
    const { client } = await identifiedClient(discord!.gatewayUrl);
    clients.push(client);
    client.send(3, { since: null, activities: [], status: 'idle', afk: false });
    client.send(1, null);
    await client.next((p) => p.op === 11);
    expect(client.closeCode).toBeNull();
  });
});

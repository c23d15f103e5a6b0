import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { FakeDiscordOptions } from '../../src/discord-sim/fake-discord.ts';
import { shardForGuild } from '../../src/discord-sim/snowflake.ts';
import { SimClient, identifiedClient } from './sim-client.ts';

const GUILDS = 1 << 0;
const GUILD_MESSAGES = 1 << 9;
const MESSAGE_CONTENT = 1 << 15;

/** What Discord's rules mean while a bot runs two shard counts at once (a reshard). */
describe('the simulated Discord during a reshard', () => {
  let discord: FakeDiscord | undefined;
  const clients: SimClient[] = [];

  async function sim(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    discord = new FakeDiscord({ heartbeatIntervalMs: 400, identifySpacingMs: 0, maxConcurrency: 16, world: { seed: 3, guilds: 12, membersPerGuild: 4 }, ...options });
    await discord.start();
    return discord;
  }

  async function connect(shard: [number, number], intents = GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT): Promise<SimClient> {
    const { client } = await identifiedClient(discord!.gatewayUrl, { shard, intents });
    clients.push(client);
    return client;
  }

  const gatewayBot = async (): Promise<{ shards: number; session_start_limit: { remaining: number } }> =>
    (await (await fetch(`${discord!.restUrl}/v10/gateway/bot`, { headers: { authorization: 'Bot fake-token' } })).json()) as { shards: number; session_start_limit: { remaining: number } };

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await discord?.close();
    discord = undefined;
  });

  it('recomputes the recommended count from the guilds on every GET /gateway/bot, rounded to the large-bot multiple', async () => {
    await sim({ guildsPerShard: 5, world: { seed: 3, guilds: 12, membersPerGuild: 2 } });
    expect((await gatewayBot()).shards).toBe(3);
    discord!.guilds.add(9);
    expect(discord!.world.guilds.size).toBe(21);
    expect((await gatewayBot()).shards).toBe(5);
    await discord!.close();
    await sim({ guildsPerShard: 5, largeBotShardMultiple: 4, world: { seed: 3, guilds: 12, membersPerGuild: 2 } });
    expect((await gatewayBot()).shards).toBe(4);
    expect(discord!.recommendedShards).toBe(4);
  });

  it('closes an IDENTIFY with 4010 when the count is not the large-bot multiple, and with 4011 once the shard outgrows its cap', async () => {
    await sim({ largeBotShardMultiple: 2, maxGuildsPerShard: 7 });
    const odd = await SimClient.connect(`${discord!.gatewayUrl}/?v=10&encoding=json`);
    clients.push(odd);
    await odd.next((p) => p.op === 10);
    odd.identify('fake-token', [0, 3], GUILDS);
    expect(await odd.closed()).toBe(4010);

    // 12 guilds over 2 shards: 6 each, under the cap of 7. The world grows; a new IDENTIFY fails.
    const before = await connect([0, 2]);
    expect(before.closeCode).toBeNull();
    discord!.guilds.add(4);
    const counts = [0, 1].map((s) => [...discord!.world.guilds.keys()].filter((id) => shardForGuild(id, 2) === s).length);
    const over = counts.findIndex((n) => n > 7);
    expect(over).toBeGreaterThanOrEqual(0);
    const late = await SimClient.connect(`${discord!.gatewayUrl}/?v=10&encoding=json`);
    clients.push(late);
    await late.next((p) => p.op === 10);
    late.identify('fake-token', [over, 2], GUILDS);
    expect(await late.closed()).toBe(4011);
    // The running session is not closed for growing (Discord checks at IDENTIFY only).
    expect(before.closeCode).toBeNull();
  });

  it('sends every guild event to the matching session of each count, guild-less ones to every shard 0, each with its own seq', async () => {
    await sim();
    const old = [await connect([0, 2]), await connect([1, 2])];
    const fresh = [await connect([0, 4]), await connect([1, 4]), await connect([2, 4]), await connect([3, 4])];
    const remaining = (await gatewayBot()).session_start_limit.remaining;
    expect(remaining).toBe(1000 - 6);
    const since = discord!.ledger.logicalEventCount;
    const guildId = [...discord!.world.guilds.keys()][5]!;
    const channel = [...discord!.world.guilds.get(guildId)!.channels.values()].find((c) => c.type === 0)!;
    const res = await fetch(`${discord!.restUrl}/v10/channels/${channel.id}/messages`, {
      method: 'POST',
      headers: { authorization: 'Bot fake-token', 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'hello both sets' }),
    });
    expect(res.status).toBe(200);
    const message = (await res.json()) as { id: string };
    discord!.dispatchGlobal('USER_UPDATE', discord!.world.botUser);
    const oldHolder = old[shardForGuild(guildId, 2)]!;
    const freshHolder = fresh[shardForGuild(guildId, 4)]!;
    const a = await oldHolder.next((p) => p.t === 'MESSAGE_CREATE');
    const b = await freshHolder.next((p) => p.t === 'MESSAGE_CREATE');
    expect(a.d.id).toBe(message.id);
    expect(b.d.id).toBe(message.id);
    await old[0]!.next((p) => p.t === 'USER_UPDATE');
    await fresh[0]!.next((p) => p.t === 'USER_UPDATE');
    for (const c of [...old, ...fresh]) {
      if (c !== oldHolder && c !== freshHolder) expect(c.dispatches().some((p) => p.t === 'MESSAGE_CREATE')).toBe(false);
      if (c !== old[0] && c !== fresh[0]) expect(c.dispatches().some((p) => p.t === 'USER_UPDATE')).toBe(false);
    }
    // Two routed events, each one logical event whatever the number of sessions it reached.
    const sessionOf = (c: SimClient): string => c.dispatches().find((p) => p.t === 'READY')!.d.session_id;
    const check = discord!.ledger.checkLogical([{ sessionId: sessionOf(oldHolder), seq: a.s! }, { sessionId: sessionOf(freshHolder), seq: b.s! }], { since, idCarrying: (t) => t === 'MESSAGE_CREATE' });
    expect(check.expected).toBe(2);
    expect(check.lost.map((e) => e.t)).toEqual(['USER_UPDATE']);
    expect(check.duplicatedIdCarrying.map((e) => e.t)).toEqual(['MESSAGE_CREATE']);
  });

  it('announces a guild the bot joins with a GUILD_CREATE to the covering session of every count', async () => {
    await sim();
    const two = [await connect([0, 2]), await connect([1, 2])];
    const three = [await connect([0, 3]), await connect([1, 3]), await connect([2, 3])];
    const [id] = discord!.guilds.add(1);
    const a = await two[shardForGuild(id!, 2)]!.next((p) => p.t === 'GUILD_CREATE' && p.d.id === id);
    const b = await three[shardForGuild(id!, 3)]!.next((p) => p.t === 'GUILD_CREATE' && p.d.id === id);
    expect(a.d.member_count).toBe(discord!.world.guilds.get(id!)!.members.size);
    expect(b.d.channels).toHaveLength(discord!.world.guilds.get(id!)!.channels.size);
  });

  it('accepts the first response to an interaction and refuses a second with 40060', async () => {
    await sim();
    await connect([0, 1]);
    discord!.traffic.setMix({ INTERACTION_CREATE: 1 });
    expect(discord!.traffic.emit(3)).toBe(3);
    const [interaction] = [...discord!.world.interactions.values()];
    const url = `${discord!.restUrl}/v10/interactions/${interaction!.id}/${interaction!.token}/callback`;
    const answer = (): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 4, data: { content: 'pong' } }) });
    expect((await answer()).status).toBe(204);
    const second = await answer();
    expect(second.status).toBe(400);
    expect(await second.json()).toEqual({ message: 'Interaction has already been acknowledged.', code: 40060 });
    const wrong = await fetch(`${discord!.restUrl}/v10/interactions/${interaction!.id}/not-the-token/callback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":4}' });
    expect(wrong.status).toBe(404);
    expect(discord!.stats).toMatchObject({ interactionResponses: 1, interactionsAnsweredTwice: 1 });
  });

  it('grows the world at a rate up to a limit through /_sim/guilds', async () => {
    await sim();
    const control = (body: unknown): Promise<Response> => fetch(`${discord!.restUrl.replace(/\/api$/, '')}/_sim/guilds`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await control({ add: 2 })).status).toBe(200);
    expect(discord!.world.guilds.size).toBe(14);
    expect((await control({ perSecond: 500, until: 20 })).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (discord!.world.guilds.size < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(discord!.world.guilds.size).toBe(20);
    expect(discord!.guilds.perSecond).toBe(0);
    expect((await control({ add: -1 })).status).toBe(400);
  });
});

import { rmSync } from 'node:fs';
import { DiscordAPIError, REST, type RateLimitData } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { isShardlineError } from '../../src/core/errors.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { tempDir, testHost } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';

const GLOBAL = 20;

/** The same requests, in the same order, against a simulator of the same seed. */
async function script(rest: REST, discord: FakeDiscord): Promise<string[]> {
  const guild = [...discord.world.guilds.values()][0]!;
  const channels = [...discord.world.guilds.values()].flatMap((g) => [...g.channels.values()].filter((c) => c.type === 0)).slice(0, 12);
  const outcome = (p: Promise<unknown>) => p.then(() => 'ok', (e: unknown) => (e instanceof DiscordAPIError ? `${e.status}:${String(e.code)}` : `error:${(e as Error).name}`));
  const out: string[] = [];
  const message = (await rest.post(Routes.channelMessages(channels[0]!.id), { body: { content: 'react to me' } })) as { id: string };
  // A strict bucket: one reaction per 250 ms per channel.
  out.push(...(await Promise.all(['1', '2', '3', '4', '5', '6'].map((e) => outcome(rest.put(Routes.channelMessageOwnReaction(channels[0]!.id, message.id, `${e}%EF%B8%8F%E2%83%A3`)))))));
  // Past the global limit: 60 reads spread over 12 channel buckets of 5 per second.
  out.push(...(await Promise.all(Array.from({ length: 60 }, (_, i) => outcome(rest.get(Routes.channel(channels[i % channels.length]!.id)))))));
  out.push(await outcome(rest.get(Routes.channel('123456789012345678'))));
  out.push(await outcome(rest.delete(Routes.guildMember(guild.id, guild.guild.owner_id))));
  return out;
}

describe('a single node is @discordjs/rest alone', () => {
  const discords: FakeDiscord[] = [];
  const hosts: Host[] = [];
  const dirs: string[] = [];
  const rests: REST[] = [];

  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.close();
    for (const rest of rests.splice(0)) {
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
    }
    for (const d of discords.splice(0)) await d.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function sim(): Promise<FakeDiscord> {
    const discord = new FakeDiscord({ identifySpacingMs: 0, world: { seed: 11, guilds: 4, membersPerGuild: 5 }, rest: { globalLimit: GLOBAL } });
    discords.push(discord);
    await discord.start();
    return discord;
  }

  async function node(discord: FakeDiscord): Promise<{ host: Host; rest: REST }> {
    let ctxRest: REST | undefined;
    const dataDir = tempDir();
    dirs.push(dataDir);
    const host = testHost(discord, { dataDir, env: { SHARDLINE_REST_GLOBAL_LIMIT: String(GLOBAL) }, bot: { intents: 1, shardReady: (_info, ctx) => void (ctxRest = ctx.rest) } });
    hosts.push(host);
    await host.start();
    const rest = await waitFor(() => ctxRest, { message: 'the handler got ctx.rest' });
    return { host, rest };
  }

  it('answers the same requests the same way, with the same waits and events, and no 429 either way', async () => {
    const plainSim = await sim();
    const plain = new REST({ api: plainSim.restUrl, version: '10', globalRequestsPerSecond: GLOBAL }).setToken('fake-token');
    rests.push(plain);
    const shardlineSim = await sim();
    const { rest: shardline } = await node(shardlineSim);
    expect(shardline).toBeInstanceOf(REST);

    const events = (rest: REST) => {
      const seen: RateLimitData[] = [];
      rest.on('rateLimited', (data) => seen.push(data));
      return seen;
    };
    const plainEvents = events(plain);
    const shardlineEvents = events(shardline);
    const [a, b] = [await script(plain, plainSim), await script(shardline, shardlineSim)];

    expect(b).toEqual(a);
    expect(a.filter((o) => o === 'ok')).toHaveLength(66);
    expect(a.slice(-2)).toEqual(['404:10003', '403:50013']);
    // What the simulator saw (the host's own GET /gateway/bot aside): the same requests, the same 429s (none).
    const seen = (d: FakeDiscord) => {
      const { gateway, ...routes } = Object.fromEntries(Object.entries(d.restStats.byRoute).map(([route, c]) => [route.startsWith('GET /gateway') ? 'gateway' : route, c]));
      return routes;
    };
    expect(seen(shardlineSim)).toEqual(seen(plainSim));
    expect(shardlineSim.restStats.total.rateLimited).toEqual({ global: 0, user: 0, shared: 0, sublimit: 0 });
    // Both waited for the reaction bucket (the same route, major parameter and limit) and for the global limit.
    const signature = (e: RateLimitData[]) => [...new Set(e.filter((x) => !x.global).map((x) => `${x.route} ${x.majorParameter} ${x.limit} ${x.scope}`))].sort();
    expect(signature(shardlineEvents)).toEqual(signature(plainEvents));
    expect(signature(plainEvents)).toHaveLength(1);
    expect(plainEvents.some((e) => e.global)).toBe(true);
    expect(shardlineEvents.some((e) => e.global)).toBe(true);
  });

  it('a request that cannot be sent before its deadline rejects with a clear error, and is never sent', async () => {
    const discord = await sim();
    const { host, rest } = await node(discord);
    const channel = [...[...discord.world.guilds.values()][0]!.channels.values()].find((c) => c.type === 0)!;
    // Five messages spend the channel's bucket for 5 s (the first teaches the library its hash); the sixth waits past its deadline.
    const send = (content: string, signal?: AbortSignal) => rest.post(Routes.channelMessages(channel.id), { body: { content }, ...(signal ? { signal } : {}) });
    await send('first');
    await Promise.all(['2', '3', '4', '5'].map((c) => send(c)));
    const startedAt = Date.now();
    const error = await send('late', AbortSignal.timeout(200)).catch((e: unknown) => e);
    expect(isShardlineError(error, 'TIMEOUT')).toBe(true);
    expect((error as Error).message).toMatch(/^Cannot send POST \/channels\/\d+\/messages: its deadline passed after \d+ ms waiting behind earlier requests to the same bucket; it was not sent$/);
    // At its deadline, not when the bucket's 5 s are over; and the library never sends it after.
    expect(Date.now() - startedAt).toBeLessThan(4_000);
    await send('after the window');
    expect(discord.restStats.byRoute['POST /channels/:channelId/messages']).toMatchObject({ requests: 6, ok: 6 });
    expect(host.status().rest!.node).toMatchObject({ limit: GLOBAL, share: GLOBAL, source: 'lease' });
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { shardForGuild } from '../../src/discord-sim/snowflake.ts';
import { SimCluster } from '../helpers/sim-cluster.ts';
import { RESHARD_MIX, answeringBot, handledAll, onOneSet, reshardDone } from '../helpers/reshard-checks.ts';
import type { Recorded } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { cacheVsWorld } from '../helpers/cache-vs-world.ts';

const NODES = ['node-a', 'node-b', 'node-c'];

/** Reshards the cluster starts by itself: Discord closing a shard with 4011, and the recommended count passing the threshold. */
describe('automatic resharding', () => {
  let cluster: SimCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('reshards when the world outgrows its shards and Discord closes a reconnecting one with 4011', { timeout: 180_000 }, async () => {
    const recorded: Recorded[] = [];
    // 48 guilds on 4 shards (12 each) under a cap of 14; Discord recommends one shard per 8 guilds.
    const c = (cluster = await new SimCluster({
      shardCount: 4,
      bot: answeringBot(recorded),
      reshard: { burstTimeoutMs: 10_000, overlapMs: 100 },
      env: { SHARDLINE_RESHARD_CHECK_MS: '0' },
      discord: { maxConcurrency: 4, maxGuildsPerShard: 14, guildsPerShard: 8, world: { seed: 9, guilds: 48, membersPerGuild: 8 } },
    }).start(NODES));
    await waitFor(() => onOneSet(c, 4), { timeoutMs: 60_000, message: 'four shards ready' });
    const identifies = c.discord.stats.identifies;
    const since = c.discord.ledger.logicalEventCount;
    c.discord.traffic.start({ eventsPerSecond: 200, mix: RESHARD_MIX });
    // The bot joins 12 guilds: 60 in all, 15 on each old shard, over the cap. Running sessions go on.
    c.discord.guilds.add(12);
    expect(c.discord.recommendedShards).toBe(8);
    const [over] = [0, 1, 2, 3].filter((s) => [...c.discord.world.guilds.keys()].filter((id) => shardForGuild(id, 4) === s).length > 14);
    expect(over).toBeDefined();
    await waitFor(() => recorded.length > 200);
    // Its session is lost: the re-IDENTIFY is closed with 4011 and the shard fails for good.
    expect(c.discord.faults.invalidSession(over!, false)).toBe(1);
    await waitFor(() => c.primary()?.host.status().events.some((e) => e.kind === 'reshard_start'), { timeoutMs: 30_000, message: 'a reshard started after the 4011' });
    expect(c.primary()!.host.status().reshard).toMatchObject({ trigger: '4011', from: { shardCount: 4 }, to: 8 });
    await reshardDone(c, 8);
    c.discord.traffic.stop();
    const check = await handledAll(c, recorded, since);
    expect(check.duplicatedIdCarrying).toEqual([]);
    expect(c.discord.stats.identifies - identifies).toBe(8);
    expect(c.discord.stats.interactionsAnsweredTwice).toBe(0);
    const primary = c.primary()!;
    await waitFor(() => cacheVsWorld(primary.host, c.discord.world).length === 0, { timeoutMs: 20_000, message: 'the cache equals the world' }).catch(() => {
      expect(cacheVsWorld(primary.host, c.discord.world).slice(0, 20)).toEqual([]);
    });
  });

  it('reshards when the recommended count reaches the threshold, checked periodically by the primary', { timeout: 180_000 }, async () => {
    const recorded: Recorded[] = [];
    const c = (cluster = await new SimCluster({
      shardCount: 4,
      bot: answeringBot(recorded),
      reshard: { burstTimeoutMs: 10_000, overlapMs: 100 },
      env: { SHARDLINE_RESHARD_CHECK_MS: '200', SHARDLINE_RESHARD_THRESHOLD: '2' },
      discord: { maxConcurrency: 4, guildsPerShard: 12, world: { seed: 9, guilds: 48, membersPerGuild: 8 } },
    }).start(NODES));
    await waitFor(() => onOneSet(c, 4), { timeoutMs: 60_000, message: 'four shards ready' });
    const identifies = c.discord.stats.identifies;
    const since = c.discord.ledger.logicalEventCount;
    c.discord.traffic.start({ eventsPerSecond: 200, mix: RESHARD_MIX });
    // 7 recommended is under twice 4: nothing happens.
    c.discord.guilds.add(36);
    expect(c.discord.recommendedShards).toBe(7);
    await waitFor(() => recorded.length > 300);
    expect(c.primary()!.host.status().reshard).toBeNull();
    // Growing on to 96 guilds (8 recommended) while traffic runs.
    c.discord.guilds.start({ perSecond: 40, until: 96 });
    await waitFor(() => c.primary()?.host.status().reshard?.trigger === 'recommended', { timeoutMs: 30_000, message: 'a reshard started on the recommended count' });
    await reshardDone(c, 8);
    await waitFor(() => c.discord.world.guilds.size === 96 && c.discord.guilds.perSecond === 0, { message: 'the world has grown' });
    c.discord.traffic.stop();
    const check = await handledAll(c, recorded, since);
    expect(check.duplicatedIdCarrying).toEqual([]);
    expect(c.discord.stats.identifies - identifies).toBe(8);
    expect(c.discord.stats.interactionsAnsweredTwice).toBe(0);
    const primary = c.primary()!;
    await waitFor(() => cacheVsWorld(primary.host, c.discord.world).length === 0, { timeoutMs: 20_000, message: 'the cache equals the world' }).catch(() => {
      expect(cacheVsWorld(primary.host, c.discord.world).slice(0, 20)).toEqual([]);
    });
  });
});

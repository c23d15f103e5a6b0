import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isIdCarrying } from '../../src/core/event-identity.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { RESHARD_MIX, answeringBot } from '../helpers/reshard-checks.ts';
import { tempDir, testHost, type Recorded } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { cacheVsWorld } from '../helpers/cache-vs-world.ts';

/** One node on its own (no LiteFS): both sets run here, and the switch is all in-process. */
describe('live reshard of an embedded node', () => {
  let discord: FakeDiscord | undefined;
  let host: Host | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await host?.close();
    await discord?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('grows 2 -> 4 under traffic, ids once, the cache equal to the world, leaves nothing running when closed, and restarts on the new count', { timeout: 120_000 }, async () => {
    discord = new FakeDiscord({ shards: 2, maxConcurrency: 2, identifySpacingMs: 10, heartbeatIntervalMs: 500, world: { seed: 4, guilds: 24, membersPerGuild: 8 } });
    await discord.start();
    dir = tempDir();
    const recorded: Recorded[] = [];
    host = testHost(discord, { dataDir: dir, bot: answeringBot(recorded), reshard: { burstTimeoutMs: 5_000, overlapMs: 100 } });
    await host.start();
    const since = discord.ledger.logicalEventCount;
    discord.traffic.start({ eventsPerSecond: 200, mix: RESHARD_MIX });
    await waitFor(() => recorded.length > 100);
    const started = await host.controlOperations().reshard!.start({ shardCount: 4, via: 'http' });
    expect(started).toMatchObject({ from: 2, to: 4, groups: 2 });
    await waitFor(() => host!.status().reshard?.phase === 'done' && host!.shardCount === 4 && host!.runners().every((r) => r.shardCount === 4 && r.shard.status === 'ready'), { timeoutMs: 30_000, message: 'the node runs 4 shards' });
    discord.traffic.stop();
    const check = (): ReturnType<FakeDiscord['ledger']['checkLogical']> => discord!.ledger.checkLogical(recorded, { since, idCarrying: isIdCarrying });
    await waitFor(() => check().lost.length === 0, { message: 'every routed event handled' });
    expect(check().duplicatedIdCarrying).toEqual([]);
    expect(discord.stats.identifies).toBe(6);
    await waitFor(() => cacheVsWorld(host!, discord!.world).length === 0, { message: 'the cache equals the world' }).catch(() => {
      expect(cacheVsWorld(host!, discord!.world).slice(0, 10)).toEqual([]);
    });
    await host.close();
    expect(discord.connections().filter((c) => c.open)).toEqual([]);
    // A restart runs the recorded set, not the configured count ('auto': Discord still recommends 2), by RESUME.
    host = testHost(discord, { dataDir: dir, bot: answeringBot(recorded) });
    await host.start();
    expect(host.shardCount).toBe(4);
    expect(host.runners().map((r) => r.shardCount)).toEqual([4, 4, 4, 4]);
    expect(discord.stats.identifies).toBe(6);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../helpers/sim-cluster.ts';
import { RESHARD_MIX, admin, answeringBot, handledAll, onOneSet, reshardDone } from '../helpers/reshard-checks.ts';
import type { Recorded } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { cacheVsWorld } from '../helpers/world-cache.ts';

const NODES = ['node-a', 'node-b', 'node-c'];

/** Live resharding on the simulated cluster (contract 13), under traffic. */
describe('live resharding', () => {
  let cluster: SimCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  async function started(recorded: Recorded[], options: { guilds?: number; discord?: ConstructorParameters<typeof SimCluster>[0] extends infer O ? O extends { discord?: infer D } ? D : never : never } = {}): Promise<SimCluster> {
    cluster = await new SimCluster({
      shardCount: 4,
      bot: answeringBot(recorded),
      reshard: { burstTimeoutMs: 10_000, overlapMs: 100 },
      discord: { maxConcurrency: 4, world: { seed: 9, guilds: options.guilds ?? 48, membersPerGuild: 8 }, ...options.discord },
    }).start(NODES);
    await waitFor(() => onOneSet(cluster!, 4), { timeoutMs: 60_000, message: 'four shards ready, one node each' });
    return cluster;
  }

  it('grows 4 -> 8 when asked over HTTP: handlers see each id-carrying event once and every other at least once, 8 IDENTIFYs, the cache equals the world', { timeout: 180_000 }, async () => {
    const recorded: Recorded[] = [];
    const c = await started(recorded);
    const identifies = c.discord.stats.identifies;
    const since = c.discord.ledger.logicalEventCount;
    c.discord.traffic.start({ eventsPerSecond: 300, mix: RESHARD_MIX });
    await waitFor(() => recorded.length > 200);

    const replica = NODES.find((id) => !c.node(id).host.isPrimary)!;
    const answer = await admin(c, replica, 'POST', '/reshard', { shardCount: 8 });
    expect(answer.status, JSON.stringify(answer.json)).toBe(202);
    expect(answer.json['reshard']).toMatchObject({ from: 4, to: 8, trigger: 'http', groups: 4 });
    await reshardDone(c, 8);
    c.discord.traffic.stop();

    const check = await handledAll(c, recorded, since);
    expect(check.duplicatedIdCarrying).toEqual([]);
    expect(c.discord.stats.identifies - identifies).toBe(8);
    expect(c.discord.stats.interactionsAnsweredTwice).toBe(0);
    expect(c.discord.stats.interactionResponses).toBeGreaterThan(0);
    const primary = c.primary()!;
    await waitFor(() => cacheVsWorld(primary.host, c.discord.world).length === 0, { timeoutMs: 20_000, message: 'the cache equals the world' }).catch(() => {
      expect(cacheVsWorld(primary.host, c.discord.world).slice(0, 20)).toEqual([]);
    });
    const status = primary.host.status();
    expect(status.reshard).toMatchObject({ phase: 'done', from: { shardCount: 4 }, to: 8, identifies: 8 });
    expect(status.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['reshard_start', 'reshard_switch', 'reshard_done']));
    // Old sessions ended (closed 1000), none resumed.
    expect(c.discord.stats.resumes).toBe(0);
  });
});

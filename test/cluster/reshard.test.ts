import { afterEach, describe, expect, it } from 'vitest';
import { runAdminCommand } from '../../src/cli/admin-commands.ts';
import { ADMIN_TOKEN, SimCluster } from '../helpers/sim-cluster.ts';
import { RESHARD_MIX, admin, answeringBot, handledAll, onOneSet, reshardDone } from '../helpers/reshard-checks.ts';
import type { Recorded } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { resumingClient } from '../discord-sim/sim-client.ts';
import { cacheVsWorld } from '../helpers/cache-vs-world.ts';

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

    const oldSessions = new Set([...c.nodes.values()].flatMap((n) => n.host.runners().map((r) => r.shard.resumeInfo()!.sessionId)));
    const replica = NODES.find((id) => !c.node(id).host.isPrimary)!;
    // The cache stays complete throughout: every guild is in it at every moment of the reshard.
    const guildCounts: number[] = [];
    const sampler = setInterval(() => guildCounts.push(Number(c.node(replica).host.query('SELECT count(*) FROM guilds').rows[0]![0])), 5);
    const answer = await admin(c, replica, 'POST', '/reshard', { shardCount: 8 });
    expect(answer.status, JSON.stringify(answer.json)).toBe(202);
    expect(answer.json['reshard']).toMatchObject({ from: 4, to: 8, trigger: 'http', groups: 4 });
    await reshardDone(c, 8);
    clearInterval(sampler);
    expect(guildCounts.length).toBeGreaterThan(10);
    expect(Math.min(...guildCounts)).toBe(c.discord.world.guilds.size);
    // After it, shards of the new set move by RESUME like any other.
    const movable = c.primary()!.host.primary!.coordinator.assignments().get(5)!;
    const target = NODES.find((id) => id !== movable.nodeId)!;
    const moved = await admin(c, c.primary()!.id, 'POST', '/shards/5/move', { to: target });
    expect(moved.status, JSON.stringify(moved.json)).toBe(200);
    await waitFor(() => c.node(target).host.runner(5)?.shard.status === 'ready' && onOneSet(c, 8), { message: 'shard 5 runs on its new node' });
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
    const metrics = await (await fetch(`${primary.host.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(metrics).toContain('shardline_shard_set_shards 8');
    expect(metrics).toContain('shardline_shard_set_generation 1');
    expect(metrics).toContain('shardline_reshard_running 0');
    // The old sessions ended (closed with 1000): Discord refuses to resume any of them.
    for (const sessionId of oldSessions) {
      const client = await resumingClient(c.discord.gatewayUrl, sessionId, 0);
      expect((await client.next((p) => p.op === 9)).d, `old session ${sessionId}`).toBe(false);
      client.terminate();
    }
  });

  it('grows 4 -> 6 (not a multiple) from the CLI: two switch groups of gcd 2, the same guarantees', { timeout: 180_000 }, async () => {
    const recorded: Recorded[] = [];
    const c = await started(recorded);
    const identifies = c.discord.stats.identifies;
    const since = c.discord.ledger.logicalEventCount;
    c.discord.traffic.start({ eventsPerSecond: 300, mix: RESHARD_MIX });
    await waitFor(() => recorded.length > 200);
    // `shardline reshard 6`, against a replica (which forwards it): it follows the reshard to its end.
    const out: string[] = [];
    const replica = NODES.find((id) => !c.node(id).host.isPrimary)!;
    const io = { env: { SHARDLINE_ADMIN_TOKEN: ADMIN_TOKEN }, stdout: (text: string) => void out.push(text), stderr: (text: string) => void out.push(`stderr: ${text}`) };
    const code = await runAdminCommand('reshard', ['6', '--url', c.node(replica).host.url!], io);
    expect(code, out.join('')).toBe(0);
    expect(out[0]).toMatch(/^resharding 4 -> 6 shards \(generation 1, 2 switch groups\)/);
    expect(out.at(-1)).toBe('reshard 4 -> 6 (generation 1, cli): done; 6 shards, 6 IDENTIFYs\n');
    await reshardDone(c, 6);
    c.discord.traffic.stop();
    const check = await handledAll(c, recorded, since);
    expect(check.duplicatedIdCarrying).toEqual([]);
    expect(c.discord.stats.identifies - identifies).toBe(6);
    expect(c.discord.stats.interactionsAnsweredTwice).toBe(0);
    const primary = c.primary()!;
    expect(primary.host.status().reshard?.groups.map((g) => [g.oldShards, g.newShards])).toEqual([[[0, 2], [0, 2, 4]], [[1, 3], [1, 3, 5]]]);
    await waitFor(() => cacheVsWorld(primary.host, c.discord.world).length === 0, { timeoutMs: 20_000, message: 'the cache equals the world' }).catch(() => {
      expect(cacheVsWorld(primary.host, c.discord.world).slice(0, 20)).toEqual([]);
    });
    // Each guild's row names its shard in the new set.
    const wrong = primary.host.query('SELECT count(*) FROM guilds WHERE shard_id <> (CAST(id AS INTEGER) >> 22) % 6').rows[0]![0];
    expect(Number(wrong)).toBe(0);
  });

  it('refuses a reshard the identify budget cannot pay for, an invalid count, and a second one while one runs, changing nothing', { timeout: 120_000 }, async () => {
    const recorded: Recorded[] = [];
    const c = await started(recorded, { discord: { sessionStartLimit: { total: 11 } } });
    const identifies = c.discord.stats.identifies;
    const tables = (): string => JSON.stringify(c.primary()!.host.query('SELECT (SELECT count(*) FROM shard_sets), (SELECT count(*) FROM shard_assignments), (SELECT group_concat(kind) FROM cluster_events WHERE kind LIKE \'reshard%\')').rows);
    const before = tables();
    const short = await admin(c, NODES.find((id) => !c.node(id).host.isPrimary)!, 'POST', '/reshard', { shardCount: 8 });
    expect(short.status).toBe(429);
    expect(short.json['error']).toMatchObject({ code: 'IDENTIFY_REFUSED', message: expect.stringContaining('the new set needs 8 IDENTIFYs and Discord allows 7 more session starts today') });
    for (const [body, why] of [[{ shardCount: 4 }, 'already runs 4'], [{ shardCount: 0 }, 'integer from 1'], [{ shardCount: 2.5 }, 'integer'], [{ shardCount: 'auto' }, 'recommends']] as const) {
      const refused = await admin(c, c.primary()!.id, 'POST', '/reshard', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(String((refused.json['error'] as { message: string }).message)).toContain(why);
    }
    expect((await admin(c, c.primary()!.id, 'POST', '/reshard', { count: 8 })).status).toBe(400);
    expect(tables()).toBe(before);
    expect(c.discord.stats.identifies).toBe(identifies);
    expect(onOneSet(c, 4)).toBe(true);
    expect(c.primary()!.host.status().reshard).toBeNull();

    // With budget enough for 6, one runs; a second is refused while it does.
    const ok = await admin(c, c.primary()!.id, 'POST', '/reshard', { shardCount: 6 });
    expect(ok.status, JSON.stringify(ok.json)).toBe(202);
    const busy = await admin(c, c.primary()!.id, 'POST', '/reshard', { shardCount: 5 });
    expect(busy.status).toBe(409);
    expect(String((busy.json['error'] as { message: string }).message)).toContain('a reshard to 6 shards (generation 1) is running');
    await reshardDone(c, 6);
  });

  it('rolls back a reshard Discord refuses (4010 off the large-bot multiple the cluster was not told of): the old set never stopped, the new set is gone', { timeout: 120_000 }, async () => {
    const recorded: Recorded[] = [];
    const c = await started(recorded, { discord: { largeBotShardMultiple: 2 } });
    const since = c.discord.ledger.logicalEventCount;
    c.discord.traffic.start({ eventsPerSecond: 200, mix: RESHARD_MIX });
    await waitFor(() => recorded.length > 100);
    const answer = await admin(c, c.primary()!.id, 'POST', '/reshard', { shardCount: 5 });
    expect(answer.status, JSON.stringify(answer.json)).toBe(202);
    await waitFor(() => c.primary()?.host.status().reshard?.phase === 'aborted', { timeoutMs: 30_000, message: 'the reshard rolled back' });
    expect(c.primary()!.host.status().reshard?.reason).toMatch(/closed by Discord with 4010/);
    await waitFor(() => [...c.nodes.values()].every((n) => n.host.status().pendingShards?.length === 0) && onOneSet(c, 4), { message: 'only the old set runs' });
    expect(Number(c.primary()!.host.query('SELECT count(*) FROM shard_assignments WHERE generation <> 0').rows[0]![0])).toBe(0);
    expect(c.primary()!.host.status().events.map((e) => e.kind)).toContain('reshard_aborted');
    c.discord.traffic.stop();
    const check = await handledAll(c, recorded, since);
    expect(check.duplicatedIdCarrying).toEqual([]);
    expect(check.duplicatedOther).toBe(0);
    // And a valid count goes through afterwards.
    expect((await admin(c, c.primary()!.id, 'POST', '/reshard', { shardCount: 8 })).status).toBe(202);
    await reshardDone(c, 8);
  });
});

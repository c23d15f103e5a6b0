import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, SimCluster } from '../helpers/sim-cluster.ts';
import { RESHARD_MIX, admin, answeringBot, handledAll, onOneSet, reshardDone } from '../helpers/reshard-checks.ts';
import type { Recorded } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { cacheVsWorld } from '../helpers/cache-vs-world.ts';

const NODES = ['node-a', 'node-b', 'node-c'];

/**
 * The primary goes away in the middle of a reshard (killed, or the lease taken over): the next
 * primary reads the reshard from the tables and finishes it. The new set identifies one shard
 * per 300 ms (max_concurrency 1), so the switch is well under way when the primary goes.
 */
describe('a primary change in the middle of a reshard', () => {
  let cluster: SimCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  async function midReshard(recorded: Recorded[]): Promise<{ c: SimCluster; since: number }> {
    const c = (cluster = await new SimCluster({
      shardCount: 4,
      bot: answeringBot(recorded),
      identifySpacingMs: 300,
      reshard: { burstTimeoutMs: 10_000, overlapMs: 100 },
      discord: { maxConcurrency: 1, identifySpacingMs: 300, world: { seed: 9, guilds: 48, membersPerGuild: 8 } },
    }).start(NODES));
    await waitFor(() => onOneSet(c, 4), { timeoutMs: 60_000, message: 'four shards ready' });
    const since = c.discord.ledger.logicalEventCount;
    c.discord.traffic.start({ eventsPerSecond: 200, mix: RESHARD_MIX });
    await waitFor(() => recorded.length > 200);
    const answer = await admin(c, c.primary()!.id, 'POST', '/reshard', { shardCount: 8 });
    expect(answer.status, JSON.stringify(answer.json)).toBe(202);
    // Moves go on while the new set identifies: an old shard moves by RESUME, and the ids its
    // handlers saw before the move still count at its switch.
    const old = c.primary()!.host.primary!.coordinator.assignments().get(1)!;
    const to = NODES.find((id) => id !== old.nodeId)!;
    const moved = await admin(c, c.primary()!.id, 'POST', '/shards/1/move', { to });
    expect(moved.status, JSON.stringify(moved.json)).toBe(200);
    await waitFor(() => c.primary()?.host.status().reshard?.phase === 'switching', { timeoutMs: 60_000, message: 'a first group switched' });
    expect(c.primary()!.host.status().reshard!.groups.filter((g) => g.switched).length).toBeLessThan(4);
    // Visible mid-way: the dashboard shows both sets and the switch, the metrics the progress.
    const page = await fetch(`${c.primary()!.host.url}/dashboard/live`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const html = await page.text();
    expect(html).toContain('Shard sets');
    expect(html).toMatch(/data-action="reshard"[^>]*disabled/);
    expect(html).toMatch(/switching<\/span> 4 → 8 shards \(http\)/);
    expect(html).toContain('new set</span>');
    expect(html).toContain('old set</span>');
    const metrics = await (await fetch(`${c.primary()!.host.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
    expect(metrics).toContain('shardline_reshard_running 1');
    expect(metrics).toContain('shardline_reshard_target_shards 8');
    expect(metrics).toMatch(/shardline_reshard_groups\{switched="true"\} [1-3]/);
    return { c, since };
  }

  async function finishedOnOneSet(c: SimCluster, recorded: Recorded[], since: number): Promise<void> {
    await reshardDone(c, 8);
    c.discord.traffic.stop();
    // At least once: a failover re-delivers what the dead node handled after its last commit.
    await handledAll(c, recorded, since);
    const primary = c.primary()!;
    await waitFor(() => cacheVsWorld(primary.host, c.discord.world).length === 0, { timeoutMs: 20_000, message: 'the cache equals the world' }).catch(() => {
      expect(cacheVsWorld(primary.host, c.discord.world).slice(0, 20)).toEqual([]);
    });
    const sets = primary.host.query("SELECT generation, shard_count, state FROM shard_sets ORDER BY generation").rows;
    expect(sets).toEqual([[0, 4, 'retired'], [1, 8, 'active']]);
    expect(Number(primary.host.query('SELECT count(*) FROM shard_assignments WHERE generation <> 1').rows[0]![0])).toBe(0);
  }

  it('finishes it when the primary is killed', { timeout: 240_000 }, async () => {
    const recorded: Recorded[] = [];
    const { c, since } = await midReshard(recorded);
    const old = c.primary()!;
    await c.kill(old.id);
    const next = await waitFor(() => c.primary(), { timeoutMs: 60_000, message: 'a new primary' });
    expect(next.id).not.toBe(old.id);
    // The dead node leaves the map: the other two run both sets until the reshard is done.
    c.nodes.delete(old.id);
    await finishedOnOneSet(c, recorded, since);
    expect(next.host.status().events.map((e) => e.kind)).toEqual(expect.arrayContaining(['takeover', 'reshard_switch', 'reshard_done']));
  });

  it('finishes it when another node takes the lease over, with each id-carrying event handled once', { timeout: 240_000 }, async () => {
    const recorded: Recorded[] = [];
    const { c, since } = await midReshard(recorded);
    const target = NODES.find((id) => !c.node(id).host.isPrimary)!;
    const took = await admin(c, target, 'POST', '/takeover', {});
    expect(took.status, JSON.stringify(took.json)).toBe(200);
    await finishedOnOneSet(c, recorded, since);
    expect(c.primary()!.id).toBe(target);
    const check = c.discord.ledger.checkLogical(recorded, { since, idCarrying: (t) => ['MESSAGE_CREATE', 'INTERACTION_CREATE'].includes(t) });
    expect(check.duplicatedIdCarrying).toEqual([]);
    expect(c.discord.stats.interactionsAnsweredTwice).toBe(0);
  });
});

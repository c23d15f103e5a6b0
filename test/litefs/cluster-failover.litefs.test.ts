import { describe, expect, it } from 'vitest';
import type { HostStatus } from '../../src/host/host-status.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { committedSeqs, expectLedger, expectNeverStopped, figure, lastHandled, snapshotShards, waitUntil, type ShardSnapshot } from './cluster-checks.ts';
import type { ShardlineCluster } from './shardline-cluster.ts';
import { useShardlineClusters } from './use-shardline-clusters.ts';

const TTL_MS = 2_000;
const LOCK_DELAY_MS = 500;
const NODE_TIMEOUT_MS = 5_000;

describe('shardline on real LiteFS + Consul: crashes and restarts', () => {
  const clusters = useShardlineClusters();

  /** A settled cluster under 300 dispatches/s, once some have been handled. */
  const startUnderTraffic = async (): Promise<ShardlineCluster> => {
    const c = await clusters.start({ ttl: `${TTL_MS}ms`, lockDelay: `${LOCK_DELAY_MS}ms`, nodeTimeoutMs: NODE_TIMEOUT_MS });
    await c.settled({ spread: true });
    c.markBaseline();
    c.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => c.records().length > 300, { timeoutMs: 30_000, message: '300 dispatches handled' });
    return c;
  };

  const readyOn = async (c: ShardlineCluster, hostname: string): Promise<number[]> =>
    (await c.status(hostname)).shards.filter((s) => s.status === 'ready').map((s) => s.shardId);

  /** Kills the node and returns when its process group is gone (the crash time for the ledger). */
  const crash = async (c: ShardlineCluster, hostname: string): Promise<{ killedAt: number; deadAt: number }> => {
    const killedAt = Date.now();
    await c.kill(hostname);
    return { killedAt, deadAt: Date.now() };
  };

  /** Milliseconds from `since` until every shard had a dispatch handled on a node other than `victim`. */
  const deliveringAgain = async (c: ShardlineCluster, shards: readonly number[], victim: string, since: number): Promise<number> =>
    waitFor(() => {
      const records = c.records();
      const firsts = shards.map((s) => records.find((r) => r.shardId === s && r.node !== victim && r.at > since));
      return firsts.every((r) => r !== undefined) ? Math.max(...firsts.map((r) => r!.at)) - since : null;
    }, { timeoutMs: 30_000, intervalMs: 50, message: `shards ${shards.join(', ')} deliver again without ${victim}` });

  it('kill -9 of a replica\'s LiteFS and node: its shards resume on the survivors, nothing lost, no IDENTIFY', async () => {
    const c = await startUnderTraffic();
    const identifies = c.discord.stats.identifies;
    const orphaned = await readyOn(c, 'n3');
    expect(orphaned.length).toBeGreaterThan(0);
    const survivors = ['n1', 'n2'];
    const before = new Map<string, ShardSnapshot[]>();
    for (const h of survivors) before.set(h, snapshotShards(c, await c.status(h)));

    const { killedAt, deadAt } = await crash(c, 'n3');
    const againMs = await deliveringAgain(c, orphaned, 'n3', killedAt);
    figure('replica crash: its shards deliver again', { ms: againMs, nodeTimeoutMs: NODE_TIMEOUT_MS, shards: orphaned.length });
    const owners = await c.settled();
    for (const s of orphaned) expect(survivors, `shard ${s} runs on a survivor`).toContain(owners.get(s)![0]);

    const records = await c.drainTraffic();
    expectLedger(c, records, { node: 'n3', shards: orphaned, at: deadAt });
    expect(c.discord.stats.identifies).toBe(identifies);
    for (const h of survivors) await expectNeverStopped(c, h, before.get(h)!);
    const events = (await c.status('n1')).events;
    expect(events.some((e) => e.kind === 'dead' && e.nodeId === 'n3')).toBe(true);
    expect(events.filter((e) => e.kind === 'failover').map((e) => e.shardId).sort()).toEqual(expect.arrayContaining([...orphaned].sort()));
    c.assertRunning(survivors);
  });

  it('kill -9 of the primary\'s LiteFS and node: a new primary after the lease expires, coordinator and funnel move there, queued writes arrive, the survivors\' shards never stop', async () => {
    const c = await startUnderTraffic();
    const identifies = c.discord.stats.identifies;
    const orphaned = await readyOn(c, 'n1');
    const survivors = ['n2', 'n3'];
    const before = new Map<string, ShardSnapshot[]>();
    for (const h of survivors) before.set(h, snapshotShards(c, await c.status(h)));

    const { killedAt, deadAt } = await crash(c, 'n1');
    // Time to LiteFS's new primary and to shardline's (coordinator and funnel running there);
    // meanwhile the survivors queue their writes.
    let litefsAt: number | null = null;
    let primary: HostStatus | null = null;
    let maxQueued = 0;
    await waitUntil('a survivor is LiteFS primary and runs the coordinator and funnel', async () => {
      for (const h of survivors) {
        const [info, status] = await Promise.all([c.litefs.info(h), c.tryStatus(h)]);
        if (info?.isPrimary && litefsAt === null) litefsAt = Date.now();
        if (status) maxQueued = Math.max(maxQueued, status.forwarder?.queuedEntries ?? 0);
        if (status?.node.role === 'primary' && status.funnel !== null) primary = status;
      }
      return primary !== null || `LiteFS primary since ${litefsAt === null ? 'never' : `${litefsAt - killedAt} ms`}`;
    }, 30_000);
    const shardlineAt = Date.now();
    const next = primary!.node.id;
    figure('primary crash: new primary', {
      litefsMs: litefsAt! - killedAt,
      shardlineMs: shardlineAt - killedAt,
      floorMs: 2 * TTL_MS + LOCK_DELAY_MS,
      ttlMs: TTL_MS,
      lockDelayMs: LOCK_DELAY_MS,
      maxQueuedEntriesOnSurvivors: maxQueued,
    });
    expect(maxQueued, 'the survivors queued writes while no primary was known').toBeGreaterThan(0);
    expect(primary!.events.some((e) => e.kind === 'takeover' && e.nodeId === next && e.at >= killedAt)).toBe(true);

    const againMs = await deliveringAgain(c, orphaned, 'n1', killedAt);
    figure('primary crash: its shards deliver again', { ms: againMs, shards: orphaned.length });
    const owners = await c.settled();
    for (const s of orphaned) expect(survivors).toContain(owners.get(s)![0]);

    const records = await c.drainTraffic();
    expectLedger(c, records, { node: 'n1', shards: orphaned, at: deadAt });
    // Every write queued during the outage arrived: each shard's last seq is committed on the new primary.
    const last = lastHandled(records);
    await waitUntil(`every shard's last handled seq committed on ${next}`, async () => {
      const committed = await committedSeqs(c, next);
      return [...last].every(([s, seq]) => committed.get(s) === seq) || JSON.stringify([...committed]);
    });
    for (const h of survivors) {
      const status = await c.status(h);
      expect(status.node.primary).toBe(next);
      expect(status.forwarder?.queuedEntries ?? 0).toBe(0);
    }
    expect(c.discord.stats.identifies).toBe(identifies);
    for (const h of survivors) await expectNeverStopped(c, h, before.get(h)!);
    c.assertRunning(survivors);
  });

  it('a restarted node rejoins as a replica, catches up, and gets shards back by RESUME', async () => {
    const c = await startUnderTraffic();
    const identifies = c.discord.stats.identifies;
    const orphaned = await readyOn(c, 'n3');
    const { deadAt } = await crash(c, 'n3');
    await c.settled();

    const restartedAt = Date.now();
    await c.restart('n3');
    await waitUntil('n3 is a replica of n1', async () => {
      const status = await c.status('n3');
      return (status.node.role === 'replica' && status.node.primary === 'n1') || `${status.node.role}, primary ${status.node.primary}`;
    });
    // The planner gives it shards back by handoff: RESUME on n3, never IDENTIFY.
    await c.settled({ spread: true });
    figure('restart: shards back on the restarted node', { ms: Date.now() - restartedAt });
    const n3 = await c.status('n3');
    expect(n3.shards.length).toBeGreaterThan(0);
    for (const shard of n3.shards) {
      expect(shard.identifies, `shard ${shard.shardId} on n3`).toBe(0);
      expect(shard.resumes, `shard ${shard.shardId} on n3`).toBeGreaterThan(0);
    }
    await waitFor(() => c.records().some((r) => r.node === 'n3' && r.at > restartedAt), { timeoutMs: 20_000, message: 'n3 handles dispatches again' });

    const records = await c.drainTraffic();
    expectLedger(c, records, { node: 'n3', shards: orphaned, at: deadAt });
    expect(c.discord.stats.identifies).toBe(identifies);
    // Caught up: n3's own replica answers what the primary answers.
    const sql = 'select (select count(*) from guilds), (select count(*) from members), (select group_concat(shard_id || \':\' || seq) from (select shard_id, seq from shard_sessions order by shard_id))';
    await waitUntil('n3 answers the same SQL as n1', async () => {
      const [a, b] = await Promise.all([c.query('n1', sql), c.query('n3', sql)]);
      return JSON.stringify(a) === JSON.stringify(b) || `n1 ${JSON.stringify(a)}, n3 ${JSON.stringify(b)}`;
    });
    c.assertRunning();
  });
});

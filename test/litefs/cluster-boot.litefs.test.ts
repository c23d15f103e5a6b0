import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sqliteErrorCode } from '../../src/core/sqlite.ts';
import type { WriteFunnelStats } from '../../src/store/write-funnel.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { committedSeqs, expectLedger, figure, lastHandled } from './cluster-checks.ts';
import { REPO_ROOT } from './prerequisites.ts';
import type { ShardlineCluster } from './shardline-cluster.ts';
import { useShardlineClusters } from './use-shardline-clusters.ts';

const MIGRATIONS = (JSON.parse(readFileSync(join(REPO_ROOT, 'migrations', 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;
// LiteFS logs this for every write it refuses on a replica's mount.
const REPLICA_WRITE_REFUSED = 'read only replica';

describe('shardline on real LiteFS + Consul: boot and the write path', () => {
  const clusters = useShardlineClusters();

  const start = async (): Promise<ShardlineCluster> => {
    return clusters.start();
  };

  it('boots 3 nodes: one primary, migrations once, shards spread, every node answers the same SQL from its own replica', async () => {
    const c = await start();
    const owners = await c.settled({ spread: true });
    expect([...owners.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);

    const statuses = await Promise.all(c.hostnames.map((h) => c.status(h)));
    const primaries = statuses.filter((s) => s.node.role === 'primary').map((s) => s.node.id);
    expect(primaries).toEqual(['n1']);
    for (const s of statuses) {
      expect(s.node.mode).toBe('cluster');
      expect(s.node.primary, `${s.node.id} names the primary`).toBe('n1');
      expect(s.funnel === null, `${s.node.id} runs a funnel only if primary`).toBe(s.node.role !== 'primary');
      expect(s.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
      expect(s.shards.length, `${s.node.id} runs shards`).toBeGreaterThan(0);
    }
    expect((await c.litefs.info('n1'))?.isPrimary).toBe(true);
    expect(c.discord.stats.identifies).toBe(6);

    // Migrations ran once, on the primary: one row per migration, replicated to every node.
    for (const h of c.hostnames) expect(await c.query(h, 'select count(*), count(distinct hash) from __drizzle_migrations'), h).toEqual([[MIGRATIONS, MIGRATIONS]]);
    const applied = c.hostnames.map((h) => c.log(h).split('\n').filter((l) => l.includes('migrations applied on the primary')).length);
    expect(applied).toEqual([1, 0, 0]);

    // The world every shard's READY carried, read back from each node's own database.
    const world = c.discord.world;
    const guilds = world.guilds.size;
    const members = [...world.guilds.values()].reduce((n, g) => n + g.members.size, 0);
    const sql = 'select (select count(*) from guilds), (select count(*) from members)';
    for (const h of c.hostnames) {
      await waitFor(async () => JSON.stringify(await c.query(h, sql)) === JSON.stringify([[guilds, members]]), { timeoutMs: 30_000, message: `${h} has ${guilds} guilds and ${members} members` });
    }
  });

  it('replica writes all go through the primary: the replicas forward, only the primary funnel commits, LiteFS never refuses a write', async () => {
    const c = await start();
    await c.settled({ spread: true });
    c.markBaseline();
    c.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => c.records().length > 600, { timeoutMs: 30_000, message: '600 dispatches handled' });
    const records = await c.drainTraffic();
    expectLedger(c, records);

    const [primary, ...replicas] = await Promise.all(c.hostnames.map((h) => c.status(h)));
    expect(primary!.node.role).toBe('primary');
    for (const replica of replicas) {
      expect(replica.node.role).toBe('replica');
      expect(replica.funnel, `${replica.node.id} has no funnel`).toBeNull();
      expect(replica.forwarder!.batches, `${replica.node.id} forwarded batches`).toBeGreaterThan(0);
      expect(records.some((r) => r.node === replica.node.id), `${replica.node.id} handled dispatches`).toBe(true);
    }
    expect(primary!.funnel!.committedEntries).toBeGreaterThan(0);
    expect(primary!.funnel!.failedTransactions).toBe(0);
    // Every shard's last handled seq is committed, and each node reads it from its own replica.
    const last = lastHandled(records);
    for (const h of c.hostnames) {
      await waitFor(async () => {
        const committed = await committedSeqs(c, h);
        return [...last].every(([s, seq]) => committed.get(s) === seq);
      }, { timeoutMs: 20_000, message: `${h} reads every shard's last seq as committed` });
    }
    for (const h of ['n2', 'n3']) {
      const log = c.log(h);
      expect(log, `${h}'s LiteFS refused no write`).not.toContain(REPLICA_WRITE_REFUSED);
      expect(log, `${h} saw no disk I/O error`).not.toContain('disk I/O error');
    }

    // The same write attempted directly on a replica's mount fails the LiteFS way, and is logged as the line above.
    const direct = betterSqlite3Driver({ path: join(c.litefs.node('n2').mountDir, 'shardline.db'), readonly: false, busyTimeoutMs: 5_000 });
    let error: unknown = null;
    try {
      direct.prepare('delete from guilds').run([]);
    } catch (e) {
      error = e;
    } finally {
      direct.close();
    }
    expect(sqliteErrorCode(error)).toBe('SQLITE_IOERR');
    expect((error as Error).message).toBe('disk I/O error');
    await waitFor(() => c.log('n2').includes(REPLICA_WRITE_REFUSED), { message: 'LiteFS logged the refused write' });
    expect((await c.query('n2', 'select count(*) from guilds'))[0]![0]).toBeGreaterThan(0);
  });

  it('measures the primary funnel on the FUSE mount under a burst forwarded from every node', async () => {
    const c = await start();
    await c.settled({ spread: true });
    c.markBaseline();
    const funnel = async (): Promise<WriteFunnelStats> => (await c.status('n1')).funnel!;
    const before = await funnel();
    const started = Date.now();
    c.discord.traffic.start({ eventsPerSecond: 4_000 });
    await waitFor(() => c.sequenced() >= 12_000, { timeoutMs: 30_000, intervalMs: 50, message: '12000 dispatches sequenced' });
    const records = await c.drainTraffic(60_000);
    const last = lastHandled(records);
    await waitFor(async () => {
      const committed = await committedSeqs(c, 'n1');
      return [...last].every(([s, seq]) => committed.get(s) === seq);
    }, { timeoutMs: 30_000, message: 'every shard\'s last seq committed on the primary' });
    const seconds = (Date.now() - started) / 1000;
    const after = await funnel();
    expectLedger(c, records);
    const transactions = after.transactions - before.transactions;
    const rows = after.committedRows - before.committedRows;
    const flushMs = after.totalFlushMs - before.totalFlushMs;
    expect(after.failedTransactions).toBe(0);
    expect(transactions).toBeGreaterThan(0);
    figure('funnel on the FUSE mount', {
      dispatches: records.length,
      seconds: Number(seconds.toFixed(2)),
      transactions,
      rows,
      transactionsPerSecond: Math.round(transactions / seconds),
      rowsPerSecond: Math.round(rows / seconds),
      msPerTransaction: Number((flushMs / transactions).toFixed(2)),
      rowsPerSecondOfTransactionTime: Math.round(rows / (flushMs / 1000)),
      maxBatchMutations: after.maxBatchMutations,
    });
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShardlineError } from '../../src/core/errors.ts';
import type { Mutation, WriteEntry } from '../../src/core/mutation.ts';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import type { TransactionBatch, TransactionWorker, TransactionWorkerFactory } from '../../src/core/transaction-worker.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { nodeTransactionWorkers } from '../../src/runtime/node-transaction-workers.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { countRows, listShardSessions } from '../../src/store/queries.ts';
import { WorkerWriteFunnel, type WorkerWriteFunnelOptions } from '../../src/store/worker-write-funnel.ts';
import { interceptRuns } from '../helpers/intercept-transaction-worker.ts';
import { waitFor } from '../helpers/wait-for.ts';

const user = (id: string): Mutation => ({ op: 'upsert', table: 'users', row: { id, username: `u${id}`, globalName: null, bot: false, avatar: null, raw: '{}' } });
const memberOf = (guildId: string, id: string): Mutation => ({ op: 'upsert', table: 'members', row: { guildId, userId: id, nick: null, joinedAt: null, roles: '[]', raw: '{}' } });
const entry = (shardId: number, seq: number, epoch = 1): WriteEntry => ({
  shardId,
  epoch,
  mutations: [user(String(shardId * 1000 + seq)), memberOf('1', String(shardId * 1000 + seq))],
  session: { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gw.example', shardCount: 16 },
});

describe('WorkerWriteFunnel (transactions on a worker thread)', () => {
  let dir: string;
  let path: string;
  let db: SqliteDriver;
  let threads: TransactionWorker[];
  const funnels: WorkerWriteFunnel[] = [];
  const workers: TransactionWorkerFactory = (options) => {
    const worker = nodeTransactionWorkers(options);
    threads.push(worker);
    return worker;
  };
  const make = (options: Partial<WorkerWriteFunnelOptions> = {}) => {
    const funnel = new WorkerWriteFunnel({ databasePath: path, workers, flushIntervalMs: 20, retryBaseMs: 10, retryMaxMs: 40, ...options });
    funnels.push(funnel);
    return funnel;
  };

  beforeEach(async () => {
    threads = [];
    dir = mkdtempSync(join(tmpdir(), 'shardline-worker-funnel-'));
    path = join(dir, 'shardline.db');
    db = openDatabase({ path, driverFactory: betterSqlite3Driver });
    await runMigrations(db);
  });
  afterEach(async () => {
    for (const funnel of funnels.splice(0)) await funnel.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies entries from 16 shards in one transaction on the thread and commits each shard seq with its rows', async () => {
    const commits: [number, number][] = [];
    const flushes: number[] = [];
    const funnel = make({ flushIntervalMs: 60_000, commitListener: (shardId, seq) => commits.push([shardId, seq]), flushListener: (info) => flushes.push(info.entries) });
    funnel.start();
    for (let shard = 0; shard < 16; shard++) {
      for (let seq = 1; seq <= 5; seq++) await funnel.enqueue(entry(shard, seq));
    }
    expect(funnel.stats().queuedEntries).toBe(80);
    await funnel.flush();
    expect(funnel.stats().transactions).toBe(1);
    expect(flushes).toEqual([80]);
    expect(countRows(db).users).toBe(80);
    const sessions = listShardSessions(db);
    expect(sessions).toHaveLength(16);
    expect(sessions.every((s) => s.seq === 5)).toBe(true);
    expect(commits.sort((a, b) => a[0] - b[0])).toEqual(Array.from({ length: 16 }, (_, i) => [i, 5]));
    expect(threads).toHaveLength(1);
  });

  it('grows its batches once a transaction takes longer than the flush interval (slow storage)', async () => {
    const sizes = async (slow: boolean): Promise<number[]> => {
      const clock = { ms: 1_000, now: () => clock.ms };
      const flushes: number[] = [];
      const funnel = make({
        clock,
        flushIntervalMs: 50,
        maxBatchRows: 10,
        highWaterRows: 1_000,
        // Each transaction "takes" 100 ms on the funnel's clock: longer than the interval it is compared with below.
        workers: (options) => {
          const inner = workers(options);
          return { get running() { return inner.running; }, get heapUsedBytes() { return inner.heapUsedBytes; }, close: () => inner.close(), run: (batch) => { if (slow) clock.ms += 100; return inner.run(batch); } };
        },
        flushListener: (info) => flushes.push(info.entries),
      });
      funnel.start();
      for (let seq = 1; seq <= 30; seq++) await funnel.enqueue(entry(1, seq));
      await funnel.flush();
      await funnel.close();
      return flushes;
    };
    // 2 rows per entry: at most 5 entries under the cap of 10 rows.
    expect(await sizes(false)).toEqual([5, 5, 5, 5, 5, 5]);
    expect(await sizes(true)).toEqual([5, 25]);
  });

  /** The real thread, with the first batch's outcome held back until the test lets it through. */
  const holdingFirst = () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const posted: TransactionBatch[] = [];
    const factory: TransactionWorkerFactory = (options) =>
      interceptRuns(workers(options), (batch, next) => {
        posted.push(batch);
        const outcome = next(batch);
        return posted.length === 1 ? gate.then(() => outcome) : outcome;
      });
    return { factory, posted, release };
  };

  it('sends the next batch while one is out, once it is full, and commits both in order', async () => {
    const { factory, posted, release } = holdingFirst();
    const commits: number[] = [];
    const funnel = make({ workers: factory, flushIntervalMs: 60_000, flushThresholdRows: 1_000, maxBatchRows: 4, highWaterRows: 100, commitListener: (_shard, seq) => commits.push(seq) });
    funnel.start();
    await funnel.enqueue(entry(1, 1));
    await funnel.enqueue(entry(1, 2));
    const first = funnel.flush();
    await funnel.enqueue(entry(1, 3));
    expect(posted).toHaveLength(1); // 2 rows unsent: not a full batch yet
    await funnel.enqueue(entry(1, 4));
    await waitFor(() => posted.length === 2, { message: 'the second batch posted while the first is out' });
    expect(posted.map((b) => b.afterPrevious === true)).toEqual([false, true]);
    expect(funnel.stats().transactions).toBe(0);
    release();
    await first;
    await funnel.settled();
    expect(commits).toEqual([2, 4]);
    expect(funnel.stats()).toMatchObject({ transactions: 2, queuedEntries: 0, committedEntries: 4 });
    expect(listShardSessions(db).find((s) => s.shardId === 1)?.seq).toBe(4);
    expect(countRows(db).users).toBe(4);
  });

  it('never commits a batch sent ahead of one that failed: both stay queued, in order, and commit on the retry', async () => {
    const { factory, posted, release } = holdingFirst();
    const errors: ShardlineError[] = [];
    const funnel = make({ workers: factory, failNext: { count: 1, sqliteCode: 'SQLITE_BUSY' }, flushIntervalMs: 60_000, flushThresholdRows: 1_000, maxBatchRows: 4, highWaterRows: 100, errorListener: (e) => errors.push(e) });
    funnel.start();
    await funnel.enqueue(entry(2, 1));
    await funnel.enqueue(entry(2, 2));
    const first = funnel.flush().catch((e: unknown) => e);
    await funnel.enqueue(entry(2, 3));
    await funnel.enqueue(entry(2, 4));
    await waitFor(() => posted.length === 2, { message: 'the second batch posted while the first is out' });
    release();
    expect(((await first) as ShardlineError).code).toBe('STORE_UNAVAILABLE');
    await funnel.settled();
    // The thread refused the second batch: the seq after the failed rows did not commit.
    expect(listShardSessions(db)).toHaveLength(0);
    expect(countRows(db).users).toBe(0);
    expect(funnel.stats()).toMatchObject({ queuedEntries: 4, failedTransactions: 1 });
    expect(errors.map((e) => e.code)).toEqual(['STORE_UNAVAILABLE']); // one failure reported, not two
    await funnel.flush(); // the retry, without waiting for the interval
    expect(listShardSessions(db).find((s) => s.shardId === 2)?.seq).toBe(4);
    expect(countRows(db).users).toBe(4);
    expect(funnel.stats()).toMatchObject({ queuedEntries: 0, failedTransactions: 1, transactions: 2 });
  });

  it('flushes on its own after the interval', async () => {
    const funnel = make();
    funnel.start();
    await funnel.enqueue(entry(3, 7));
    await waitFor(() => funnel.stats().transactions === 1, { timeoutMs: 10_000 });
    expect(listShardSessions(db).find((s) => s.shardId === 3)?.seq).toBe(7);
    expect(countRows(db).members).toBe(1);
  });

  it('holds enqueue back above the high-water mark and releases it after a commit', async () => {
    const funnel = make({ flushIntervalMs: 60_000, flushThresholdRows: 1_000_000, highWaterRows: 4 });
    funnel.start();
    await funnel.enqueue(entry(0, 1));
    await funnel.enqueue(entry(0, 2));
    let released = false;
    const blocked = funnel.enqueue(entry(0, 3)).then(() => (released = true));
    await Promise.resolve();
    expect(released).toBe(false);
    expect(funnel.stats().blockedEnqueues).toBe(1);
    await funnel.flush();
    await blocked;
    expect(released).toBe(true);
    expect(listShardSessions(db)[0]?.seq).toBe(3);
  });

  it('keeps a batch queued through injected SQLITE_FULL failures, reports them, and commits it once they clear', async () => {
    const errors: ShardlineError[] = [];
    const funnel = make({ failNext: { count: 3, sqliteCode: 'SQLITE_FULL' }, errorListener: (e) => errors.push(e) });
    funnel.start();
    await funnel.enqueue(entry(2, 1));
    await funnel.enqueue(entry(2, 2));
    await expect(funnel.flush()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(funnel.stats().queuedEntries).toBe(2);
    expect(countRows(db).users).toBe(0);
    expect(listShardSessions(db)).toHaveLength(0);
    await waitFor(() => funnel.stats().transactions === 1, { timeoutMs: 10_000 });
    expect(funnel.stats().failedTransactions).toBe(3);
    expect(funnel.stats().queuedEntries).toBe(0);
    expect(errors.length).toBe(3);
    expect(errors[0]!.message).toContain('SQLITE_FULL');
    expect(countRows(db).users).toBe(2);
    expect(listShardSessions(db)[0]?.seq).toBe(2);
  });

  it('drain() returns a batch in flight when its transaction fails, and nothing of a committed one', async () => {
    const failing = make({ flushIntervalMs: 60_000, failNext: { count: 1, sqliteCode: 'SQLITE_IOERR' } });
    failing.start();
    await failing.enqueue(entry(1, 1));
    const flushed = failing.flush().catch((e: unknown) => e);
    await failing.enqueue(entry(1, 2));
    const drained = await failing.drain();
    expect((await flushed as ShardlineError).code).toBe('STORE_UNAVAILABLE');
    expect(drained.map((e) => e.session?.seq)).toEqual([1, 2]);
    expect(failing.stats().queuedEntries).toBe(0);
    expect(countRows(db).users).toBe(0);

    const ok = make({ flushIntervalMs: 60_000 });
    ok.start();
    await ok.enqueue(entry(4, 1));
    const committing = ok.flush();
    await ok.enqueue(entry(4, 2));
    const rest = await ok.drain();
    await committing;
    expect(rest.map((e) => e.session?.seq)).toEqual([2]);
    expect(listShardSessions(db).find((s) => s.shardId === 4)?.seq).toBe(1);
  });

  it('rejects a stale epoch at enqueue and skips one that went stale before the transaction', async () => {
    let current = 1;
    const funnel = make({ flushIntervalMs: 60_000, fence: (_shard, epoch) => epoch === current });
    funnel.start();
    await expect(funnel.enqueue(entry(0, 1, 0))).rejects.toMatchObject({ code: 'STALE_EPOCH' });
    await funnel.enqueue(entry(0, 2, 1));
    current = 2;
    await funnel.flush();
    expect(countRows(db).users).toBe(0);
    expect(funnel.stats().staleRejected).toBe(2);
  });

  it('skips, inside the transaction, an entry whose move was committed on another connection after the batch was sent', async () => {
    const assign = (shardId: number, epoch: number) =>
      db.prepare("INSERT INTO shard_assignments (shard_id, node_id, epoch, state, updated_at) VALUES (?, 'n1', ?, 'assigned', 0) ON CONFLICT(generation, shard_id) DO UPDATE SET epoch = excluded.epoch").run([shardId, epoch]);
    assign(0, 1);
    assign(1, 1);
    const stale: ShardlineError[] = [];
    // The funnel's own check passes (as it did when the batch left); only the committed epoch can refuse.
    const funnel = make({ flushIntervalMs: 60_000, fence: () => true, errorListener: (error) => stale.push(error) });
    funnel.start();
    await funnel.enqueue(entry(0, 1, 1));
    await funnel.enqueue(entry(1, 1, 1));
    assign(0, 2);
    db.prepare("INSERT INTO shard_sessions (shard_id, session_id, seq, resume_gateway_url, shard_count, updated_at) VALUES (0, 'moved', 40, 'wss://gw.example', 16, 0)").run();
    await funnel.flush();
    expect(listShardSessions(db).find((s) => s.shardId === 0)).toMatchObject({ sessionId: 'moved', seq: 40 });
    expect(listShardSessions(db).find((s) => s.shardId === 1)?.seq).toBe(1);
    expect(countRows(db).users).toBe(1);
    expect(stale.map((e) => [e.code, (e.details as { shardId: number }).shardId])).toEqual([['STALE_EPOCH', 0]]);
    expect(funnel.stats()).toMatchObject({ staleRejected: 1, committedEntries: 1 });
  });

  it('folds entries without rows into the shard\'s last unsent entry, so the later seq commits with the same rows', async () => {
    const funnel = make({ flushIntervalMs: 60_000 });
    funnel.start();
    const bare = (shardId: number, seq: number, epoch = 1): WriteEntry => ({ ...entry(shardId, seq, epoch), mutations: [] });
    await funnel.enqueue(entry(0, 1));
    await funnel.enqueue(bare(0, 2));
    await funnel.enqueue(entry(1, 1));
    await funnel.enqueue(bare(0, 3));
    await funnel.enqueue(bare(1, 2));
    await funnel.enqueue(bare(2, 5)); // nothing of shard 2 queued: kept as is
    await funnel.enqueue(bare(1, 3, 2)); // another epoch: never folded into epoch 1's entry
    expect(funnel.stats()).toMatchObject({ queuedEntries: 4, mergedEntries: 3 });
    await funnel.flush();
    const seqs = Object.fromEntries(listShardSessions(db).map((s) => [s.shardId, s.seq]));
    expect(seqs).toEqual({ 0: 3, 1: 3, 2: 5 });
    expect(countRows(db).users).toBe(2);
    expect(funnel.stats()).toMatchObject({ queuedEntries: 0, transactions: 1 });
  });

  it('flush() and committed() wait for the entry that rows-less entries were folded into while a batch was out', async () => {
    const funnel = make({ flushIntervalMs: 60_000 });
    funnel.start();
    const bare = (shardId: number, seq: number): WriteEntry => ({ ...entry(shardId, seq), mutations: [] });
    await funnel.enqueue(entry(6, 1));
    const first = funnel.flush(); // shard 6's batch goes out
    await funnel.enqueue(entry(7, 1));
    const flushed = funnel.flush();
    const committed = funnel.committed();
    for (let seq = 2; seq <= 4; seq++) await funnel.enqueue(bare(7, seq));
    expect(funnel.stats().mergedEntries).toBe(3);
    await first;
    await flushed;
    expect(listShardSessions(db).find((s) => s.shardId === 7)?.seq).toBe(4);
    await committed;
    expect(funnel.stats()).toMatchObject({ queuedEntries: 0, transactions: 2 });
  });

  it('sends at most maxBatchRows per transaction, never splitting an entry, and commits every seq', async () => {
    const funnel = make({ flushIntervalMs: 60_000, maxBatchRows: 4 });
    funnel.start();
    for (let seq = 1; seq <= 5; seq++) await funnel.enqueue(entry(7, seq)); // 2 rows each
    await funnel.flush();
    expect(funnel.stats()).toMatchObject({ transactions: 3, committedEntries: 5, queuedEntries: 0, maxBatchMutations: 4 });
    expect(listShardSessions(db).find((s) => s.shardId === 7)?.seq).toBe(5);
    expect(countRows(db).users).toBe(5);
  });

  it('reports the thread\'s own heap, sampled once the thread idles after a transaction', async () => {
    const funnel = make({ flushIntervalMs: 60_000 });
    funnel.start();
    expect(funnel.stats()).toMatchObject({ thread: true, threadHeapBytes: null });
    await funnel.enqueue(entry(8, 1));
    await funnel.flush();
    await waitFor(() => (funnel.stats().threadHeapBytes ?? 0) > 0, { timeoutMs: 10_000, message: 'a heap sample from the thread' });
  });

  it('starts a new thread when its thread died, and commits what the dead one left queued', async () => {
    const funnel = make({ flushIntervalMs: 60_000 });
    funnel.start();
    await funnel.enqueue(entry(9, 1));
    await funnel.flush();
    expect(threads).toHaveLength(1);
    await threads[0]!.close(); // as if it had crashed: the funnel did not close it
    await funnel.enqueue(entry(9, 2));
    await funnel.flush();
    expect(threads).toHaveLength(2);
    expect(funnel.stats()).toMatchObject({ threadRestarts: 1, failedTransactions: 0 });
    expect(listShardSessions(db).find((s) => s.shardId === 9)?.seq).toBe(2);
  });

  it('falls back to the event loop\'s connection when threads cannot start here, and says so', async () => {
    let started = 0;
    const broken: TransactionWorkerFactory = () => {
      started += 1;
      return {
        running: false,
        heapUsedBytes: null,
        run: () => Promise.resolve({ ok: false, sqliteCode: undefined, message: "the transaction thread failed: Cannot find module 'better-sqlite3' (exit code 1)" }),
        close: () => Promise.resolve(),
      };
    };
    const reports: ShardlineError[] = [];
    db.exec('PRAGMA wal_autocheckpoint = 5120'); // as PrimaryRole opens it beside a thread
    const funnel = make({ workers: broken, fallbackDb: db, errorListener: (error) => reports.push(error) });
    funnel.start();
    await funnel.enqueue(entry(10, 1));
    await waitFor(() => listShardSessions(db).find((s) => s.shardId === 10)?.seq === 1, { timeoutMs: 10_000, message: 'committed on the fallback' });
    expect(started).toBe(2);
    expect(funnel.stats()).toMatchObject({ thread: false, queuedEntries: 0, transactions: 1 });
    expect(db.prepare('PRAGMA wal_autocheckpoint').values()[0]?.[0]).toBe(2_560); // it commits now, so it checkpoints too (40 MiB of 16 KiB pages)
    expect(reports.map((r) => r.message)).toContainEqual(expect.stringMatching(/transaction thread could not start \(the transaction thread failed: Cannot find module 'better-sqlite3'.*committing on the event loop from now on/));
    await funnel.enqueue(entry(10, 2));
    await funnel.flush();
    expect(started).toBe(2);
    expect(listShardSessions(db).find((s) => s.shardId === 10)?.seq).toBe(2);
  });

  it('settled() waits for the batch on the thread (a write hold answers only once no transaction runs)', async () => {
    const funnel = make({ flushIntervalMs: 60_000 });
    funnel.start();
    await funnel.enqueue(entry(6, 3));
    const flushing = funnel.flush();
    await funnel.settled();
    expect(listShardSessions(db).find((s) => s.shardId === 6)?.seq).toBe(3);
    await flushing;
    await funnel.settled();
  });

  it('exclusive() runs a write on another connection only while no batch holds the lock, and sends none until it returned', async () => {
    // A stand-in thread whose transaction holds SQLite's write lock until the test lets it commit.
    const holder = openDatabase({ path, driverFactory: betterSqlite3Driver });
    const order: string[] = [];
    let commit: (() => void) | null = null;
    const lockingWorkers: TransactionWorkerFactory = () => ({
      running: true,
      heapUsedBytes: null,
      run: () =>
        new Promise((resolve) => {
          order.push('batch');
          holder.exec('BEGIN IMMEDIATE');
          holder.exec(`INSERT INTO cluster_events (at, kind) VALUES (${order.length}, 'batch')`);
          commit = () => {
            holder.exec('COMMIT');
            commit = null;
            resolve({ ok: true, committedRows: 1, sessions: [], dropped: [], stale: [] });
          };
        }),
      close: () => Promise.resolve(),
    });
    // The main connection as it would be without the funnel's care: it gives up at once on a lock.
    const impatient = openDatabase({ path, driverFactory: betterSqlite3Driver });
    impatient.exec('PRAGMA busy_timeout = 0');
    const write = (): void => {
      order.push('write');
      impatient.prepare("INSERT INTO cluster_events (at, kind) VALUES (0, 'exclusive')").run();
    };
    try {
      const funnel = make({ workers: lockingWorkers, flushIntervalMs: 1 });
      funnel.start();
      await funnel.enqueue(entry(0, 1));
      await waitFor(() => commit !== null, { message: 'the first batch holds the lock' });
      expect(() => impatient.prepare("INSERT INTO cluster_events (at, kind) VALUES (0, 'direct')").run()).toThrow(/locked|busy/i);

      await funnel.enqueue(entry(0, 2)); // due at once (1 ms interval), but must wait for the write
      // A flush() asked before the write would otherwise start the next batch first.
      const flushed = funnel.flush();
      const done = funnel.exclusive(write);
      // A negative: the 1 ms flush timer gets a few chances to send the second batch early.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(order).toEqual(['batch']);
      commit!();
      // Polled, not awaited: if the next batch went first, it holds the lock until the finally.
      await waitFor(() => order.length >= 2, { timeoutMs: 5_000, message: 'the write or the next batch ran' });
      expect(order.slice(0, 2)).toEqual(['batch', 'write']);
      await done;
      await waitFor(() => commit !== null, { message: 'the second batch starts after the write' });
      expect(order).toEqual(['batch', 'write', 'batch']);
      commit!();
      await flushed;
      expect(db.prepare("SELECT count(*) AS n FROM cluster_events WHERE kind = 'exclusive'").get()?.['n']).toBe(1);
    } finally {
      // A failing assertion must not leave a batch holding the lock: close() would wait on it.
      (commit as (() => void) | null)?.();
      impatient.close();
      holder.close();
    }
  });

  it('close() commits what is pending, refuses later writes and leaves no thread running', async () => {
    const funnel = make({ flushIntervalMs: 60_000 });
    funnel.start();
    await funnel.enqueue(entry(5, 9));
    await funnel.close();
    expect(listShardSessions(db).find((s) => s.shardId === 5)?.seq).toBe(9);
    expect(threads).toHaveLength(1);
    expect(threads[0]!.running).toBe(false);
    await expect(funnel.enqueue(entry(5, 10))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

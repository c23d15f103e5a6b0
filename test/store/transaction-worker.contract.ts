/**
 * The TransactionWorker port's contract (src/core/transaction-worker.ts), as plain cases so any
 * runner can drive it: vitest runs it against Node's thread (better-sqlite3), `deno test`
 * against Deno's (node:sqlite). Then the same WorkerWriteFunnel on top commits through either.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mutation, WriteEntry } from '../../src/core/mutation.ts';
import type { SqliteDriver, SqliteDriverFactory } from '../../src/core/sqlite.ts';
import type { TransactionWorker, TransactionWorkerFactory } from '../../src/core/transaction-worker.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { countRows, listShardSessions } from '../../src/store/queries.ts';
import { packEntries } from '../../src/store/packed-entries.ts';
import { WorkerWriteFunnel } from '../../src/store/worker-write-funnel.ts';
import { waitFor } from '../helpers/wait-for.ts';
import type { ContractCase } from './driver.contract.ts';

const user = (id: string): Mutation => ({ op: 'upsert', table: 'users', row: { id, username: `u${id}`, globalName: null, bot: false, avatar: null, raw: '{}' } });
const entry = (shardId: number, seq: number, epoch = 1): WriteEntry => ({
  shardId,
  epoch,
  mutations: [user(String(shardId * 1000 + seq))],
  session: { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gw.example', shardCount: 4 },
});

/**
 * `workers` starts the runtime's thread; `driverFactory` is the same runtime's driver, used on
 * this side to migrate and to read what the thread committed.
 */
export function transactionWorkerContract(workers: TransactionWorkerFactory, driverFactory: SqliteDriverFactory): ContractCase[] {
  const withDb = (fn: (ctx: { path: string; db: SqliteDriver; start: (o?: { failNext?: { count: number; sqliteCode: string } }) => TransactionWorker }) => Promise<void>) => async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-thread-'));
    const path = join(dir, 'shardline.db');
    const db = openDatabase({ path, driverFactory });
    const started: TransactionWorker[] = [];
    try {
      await runMigrations(db);
      await fn({ path, db, start: (o = {}) => started[started.push(workers({ databasePath: path, ...o })) - 1]! });
    } finally {
      for (const worker of started) await worker.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  return [
    {
      name: 'runs a batch of several shards in one transaction and returns each shard session it committed',
      run: withDb(async ({ db, start }) => {
        const worker = start();
        const outcome = await worker.run({ entries: [entry(0, 1), entry(1, 1), entry(0, 2)], now: Date.now() });
        assert.equal(outcome.ok, true, JSON.stringify(outcome));
        if (!outcome.ok) return;
        assert.equal(outcome.committedRows, 5, 'three user rows and two session rows');
        assert.deepEqual(outcome.sessions.map(([shard, s]) => [shard, s.seq]).sort(), [[0, 2], [1, 1]]);
        assert.deepEqual(outcome.dropped, []);
        assert.equal(countRows(db).users, 3, 'the rows are visible on another connection once run() answered');
        assert.deepEqual(listShardSessions(db).map((s) => [s.shardId, s.seq]).sort(), [[0, 2], [1, 1]]);
      }),
    },
    {
      name: 'fenced: an entry whose shard moved to a newer epoch is skipped inside the transaction',
      run: withDb(async ({ db, start }) => {
        db.prepare("INSERT INTO shard_assignments (shard_id, node_id, epoch, state, updated_at) VALUES (1, 'n', 3, 'running', 0)").run();
        const outcome = await start().run({ entries: [entry(0, 1, 1), entry(1, 1, 2), entry(1, 2, 3)], now: Date.now(), fenced: true });
        assert.equal(outcome.ok, true, JSON.stringify(outcome));
        if (!outcome.ok) return;
        assert.deepEqual(outcome.stale, [1]);
        assert.equal(countRows(db).users, 2);
      }),
    },
    {
      name: 'a failing transaction is an ok:false outcome naming the SQLite code, and the thread keeps serving',
      run: withDb(async ({ db, start }) => {
        const worker = start({ failNext: { count: 1, sqliteCode: 'SQLITE_FULL' } });
        const failed = await worker.run({ entries: [entry(0, 1)], now: Date.now() });
        assert.equal(failed.ok, false);
        if (failed.ok) return;
        assert.equal(failed.sqliteCode, 'SQLITE_FULL');
        assert.match(failed.message, /SQLITE_FULL/);
        assert.equal((await worker.run({ entries: [entry(0, 1)], now: Date.now() })).ok, true);
        assert.equal(countRows(db).users, 1);
      }),
    },
    {
      name: 'a batch sent after one (afterPrevious) runs only if that one committed, and says when it did not run',
      run: withDb(async ({ db, start }) => {
        const worker = start({ failNext: { count: 1, sqliteCode: 'SQLITE_BUSY' } });
        // Both posted before either answered, as the funnel sends the next batch while one commits.
        const [first, second] = await Promise.all([
          worker.run({ entries: [entry(0, 1)], now: Date.now() }),
          worker.run({ entries: [entry(0, 2)], now: Date.now(), afterPrevious: true }),
        ]);
        assert.equal(first.ok, false);
        assert.equal(second.ok, false);
        if (second.ok) return;
        assert.equal(second.notRun, true);
        assert.equal(second.sqliteCode, undefined);
        assert.equal(countRows(db).users, 0, 'the later seq did not commit without the rows before it');
        assert.deepEqual(listShardSessions(db), []);
        const [again, next] = await Promise.all([
          worker.run({ entries: [entry(0, 1)], now: Date.now() }),
          worker.run({ entries: [entry(0, 2)], now: Date.now(), afterPrevious: true }),
        ]);
        assert.deepEqual([again.ok, next.ok], [true, true]);
        assert.deepEqual(listShardSessions(db).map((s) => s.seq), [2]);
      }),
    },
    {
      name: 'a packed batch too big for one message arrives in parts and commits as one transaction',
      run: withDb(async ({ db, start }) => {
        const worker = start();
        // 3 000 user rows: about 24 000 values, many messages' worth.
        const big = (shardId: number, seq: number): WriteEntry => ({ ...entry(shardId, seq), mutations: Array.from({ length: 1_000 }, (_, i) => user(String(shardId * 1_000_000 + seq * 10_000 + i))) });
        const packed = packEntries([big(0, 1), big(1, 1), big(0, 2)]);
        const outcome = await worker.run({ packed, now: Date.now() });
        assert.equal(outcome.ok, true, JSON.stringify(outcome));
        if (!outcome.ok) return;
        assert.equal(outcome.committedRows, 3_002);
        assert.equal(countRows(db).users, 3_000);
        assert.deepEqual(listShardSessions(db).map((s) => [s.shardId, s.seq]).sort(), [[0, 2], [1, 1]]);
        // The next batch (small, one message) is not mixed with the parts of the last.
        assert.equal((await worker.run({ packed: packEntries([entry(2, 1)]), now: Date.now() })).ok, true);
        assert.equal(countRows(db).users, 3_001);
      }),
    },
    {
      name: 'a database it cannot open is an ok:false outcome, not a dead thread',
      run: withDb(async ({ path }) => {
        const worker = workers({ databasePath: join(path, 'not-a-dir', 'x.db') });
        try {
          const outcome = await worker.run({ entries: [entry(0, 1)], now: Date.now() });
          assert.equal(outcome.ok, false);
          if (!outcome.ok) assert.match(outcome.message, /Cannot open/);
          assert.equal(worker.running, true);
        } finally {
          await worker.close();
        }
      }),
    },
    {
      name: 'samples its own heap once idle, and close() ends the thread: later runs answer ok:false',
      run: withDb(async ({ start }) => {
        const worker = start();
        assert.equal((await worker.run({ entries: [entry(0, 1)], now: Date.now() })).ok, true);
        const heap = await waitFor(() => worker.heapUsedBytes, { timeoutMs: 10_000 });
        assert.ok(heap > 0);
        await worker.close();
        assert.equal(worker.running, false);
        const after = await worker.run({ entries: [entry(0, 2)], now: Date.now() });
        assert.equal(after.ok, false);
      }),
    },
    {
      name: 'the worker write funnel commits every shard seq with its rows through this thread',
      run: withDb(async ({ path, db }) => {
        const funnel = new WorkerWriteFunnel({ databasePath: path, workers, flushIntervalMs: 60_000 });
        try {
          funnel.start();
          for (let shard = 0; shard < 4; shard++) for (let seq = 1; seq <= 25; seq++) await funnel.enqueue(entry(shard, seq));
          await funnel.flush();
          assert.equal(funnel.stats().thread, true);
          assert.equal(countRows(db).users, 100);
          assert.deepEqual(listShardSessions(db).map((s) => s.seq), [25, 25, 25, 25]);
        } finally {
          await funnel.close();
        }
      }),
    },
  ];
}

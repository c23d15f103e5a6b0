/**
 * The QueryWorker port's contract (src/core/query-worker.ts), as plain cases so any runner can
 * drive it: vitest runs it against Node's query process (better-sqlite3), `deno test` against
 * Deno's (node:sqlite).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueryWorker, QueryWorkerFactory } from '../../src/core/query-worker.ts';
import type { SqliteDriver, SqliteDriverFactory } from '../../src/core/sqlite.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import type { ContractCase } from './driver.contract.ts';

const LIMITS = { maxRows: 100, timeoutMs: 5_000, maxBytes: 1024 * 1024 };

/** `workers` starts the runtime's thread; `driverFactory` is the same runtime's driver, used on this side to write the rows read. */
export function queryWorkerContract(workers: QueryWorkerFactory, driverFactory: SqliteDriverFactory): ContractCase[] {
  const withDb = (fn: (ctx: { db: SqliteDriver; start: (options?: { maxMemoryBytes?: number }) => QueryWorker }) => Promise<void>) => async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-query-thread-'));
    const path = join(dir, 'shardline.db');
    const db = openDatabase({ path, driverFactory });
    const started: QueryWorker[] = [];
    try {
      await runMigrations(db);
      db.prepare("INSERT INTO users (id, username, raw) VALUES ('1', 'ada', '{\"id\":\"1\"}'), ('2', 'bob', '{\"id\":\"2\"}')").run();
      await fn({ db, start: (options = {}) => started[started.push(workers({ databasePath: path, ...options })) - 1]! });
    } finally {
      for (const worker of started) await worker.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  return [
    {
      name: 'answers columns and rows, with positional and named parameters, after saying it started',
      run: withDb(async ({ start }) => {
        const worker = start();
        const events: string[] = [];
        const reply = await worker.run({ sql: 'SELECT id, username FROM users WHERE id >= ? ORDER BY id', params: ['1'], ...LIMITS }, () => events.push('started'));
        events.push('replied');
        assert.deepEqual(reply, { ok: true, columns: ['id', 'username'], rows: [['1', 'ada'], ['2', 'bob']], truncated: false, timedOut: false, bytes: 80 });
        assert.deepEqual(events, ['started', 'replied']);
        const named = await worker.run({ sql: 'SELECT username FROM users WHERE id = :id', params: { id: '2' }, ...LIMITS });
        assert.deepEqual(named.ok && 'rows' in named && named.rows, [['bob']]);
      }),
    },
    {
      name: 'caps rows at maxRows and says so',
      run: withDb(async ({ start }) => {
        const reply = await start().run({ sql: 'SELECT id FROM users ORDER BY id', params: [], ...LIMITS, maxRows: 1 });
        assert.deepEqual(reply.ok && 'rows' in reply && [reply.rows, reply.truncated], [[['1']], true]);
      }),
    },
    {
      name: 'refuses a result past maxBytes with TOO_LARGE, never a part of it',
      run: withDb(async ({ start }) => {
        const worker = start();
        const reply = await worker.run({ sql: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50) SELECT x, printf('%.*c', 1000, 'y') FROM c", params: [], ...LIMITS, maxBytes: 10_000 });
        assert.equal(!reply.ok && reply.code, 'TOO_LARGE');
        assert.match(!reply.ok ? reply.message : '', /passed maxBytes \(10000 bytes as JSON\) at row 10/);
        assert.equal((await worker.run({ sql: 'SELECT 1', params: [], ...LIMITS })).ok, true);
      }),
    },
    {
      name: "writes POST /query's JSON itself, BLOBs as base64, within maxBytes",
      run: withDb(async ({ start }) => {
        const reply = await start().run({ sql: "SELECT id, x'00ff10' AS b FROM users ORDER BY id", params: [], ...LIMITS, format: 'json' });
        assert.ok(reply.ok && 'json' in reply && reply.json);
        const text = new TextDecoder().decode(reply.json);
        assert.deepEqual(JSON.parse(text), { columns: ['id', 'b'], rows: [['1', { $blob: 'AP8Q' }], ['2', { $blob: 'AP8Q' }]], truncated: false });
        assert.equal(reply.bytes, reply.json.byteLength);
        assert.equal(reply.rowCount, 2);
      }),
    },
    {
      name: 'a value that outgrows the memory limit inside one step stops the thread with TOO_LARGE',
      run: withDb(async ({ start }) => {
        const worker = start({ maxMemoryBytes: 256 * 1024 * 1024 });
        // One SQLite step builds 400 MB before any row is there to count.
        const reply = await worker.run({ sql: "SELECT length(printf('%.*c', 400000000, 'x') || printf('%.*c', 400000000, 'y'))", params: [], ...LIMITS, maxBytes: 1024 });
        assert.equal(!reply.ok && reply.code, 'TOO_LARGE', JSON.stringify(reply));
        assert.match(!reply.ok ? reply.message : '', /memory limit of 256 MiB/);
        await worker.exited;
      }),
    },
    {
      name: "errors come back with the query API's codes, and the thread keeps serving",
      run: withDb(async ({ start }) => {
        const worker = start();
        const bad = await worker.run({ sql: 'SELECT nope FROM users', params: [], ...LIMITS });
        assert.equal(bad.ok, false);
        assert.equal(!bad.ok && bad.code, 'INVALID_INPUT');
        assert.match(!bad.ok ? bad.message : '', /no such column: nope/);
        const write = await worker.run({ sql: "DELETE FROM users WHERE id = '1'", params: [], ...LIMITS });
        assert.equal(!write.ok && write.code, 'INVALID_INPUT');
        const unsendable = await worker.run({ sql: 'SELECT ?', params: [() => 1], ...LIMITS });
        assert.equal(!unsendable.ok && unsendable.code, 'INVALID_INPUT');
        const after = await worker.run({ sql: 'SELECT count(*) FROM users', params: [], ...LIMITS });
        assert.deepEqual(after.ok && 'rows' in after && after.rows.map((r) => r.map(Number)), [[2]]);
      }),
    },
    {
      name: 'terminate() inside a step that never ends: the reply is ok:false and `exited` resolves',
      run: withDb(async ({ start }) => {
        const worker = start();
        let began!: () => void;
        const started = new Promise<void>((resolve) => (began = resolve));
        const reply = worker.run({ sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', params: [], ...LIMITS }, () => began());
        await started;
        worker.terminate();
        const answered = await reply;
        assert.equal(answered.ok, false);
        assert.equal(worker.running, false);
        await worker.exited;
        const late = await worker.run({ sql: 'SELECT 1', params: [], ...LIMITS });
        assert.equal(late.ok, false);
      }),
    },
    {
      name: 'close() ends the thread',
      run: withDb(async ({ start }) => {
        const worker = start();
        assert.equal((await worker.run({ sql: 'SELECT 1', params: [], ...LIMITS })).ok, true);
        await worker.close();
        assert.equal(worker.running, false);
        await worker.exited;
      }),
    },
  ];
}

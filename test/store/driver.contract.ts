/**
 * The store's contract over the SQLite port, as plain cases so any runner can drive it:
 * vitest runs it with better-sqlite3 (test/store/better-sqlite3.test.ts), `deno test` runs it
 * with node:sqlite (test/store/node-sqlite.deno.ts). Assertions use node:assert, which both have.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isShardlineError } from '../../src/core/errors.ts';
import { sqliteErrorCode } from '../../src/core/sqlite.ts';
import type { SqliteDriver, SqliteDriverFactory } from '../../src/core/sqlite.ts';
import { dispatchMutations } from '../../src/store/dispatch-mutations.ts';
import { loadMigrations } from '../../src/store/migration-files.ts';
import { runMigrations, waitForSchema } from '../../src/store/migrate.ts';
import { openDatabase, readPragmas } from '../../src/store/open-database.ts';
import { countRows, listShardSessions, runReadOnlyQuery } from '../../src/store/queries.ts';
import { WriteFunnel } from '../../src/store/write-funnel.ts';

export interface ContractCase {
  name: string;
  run: () => Promise<void>;
}

/** Each case gets a fresh temp dir and closes what it opened, whatever the outcome. */
export function storeContract(driverFactory: SqliteDriverFactory): ContractCase[] {
  const withDir = (fn: (dir: string, open: (readonly?: boolean) => SqliteDriver) => Promise<void> | void) => async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-store-'));
    const opened: SqliteDriver[] = [];
    const open = (readonly = false): SqliteDriver => {
      const db = openDatabase({ path: join(dir, 'shardline.db'), readonly, driverFactory });
      opened.push(db);
      return db;
    };
    try {
      await fn(dir, open);
    } finally {
      for (const db of opened.reverse()) {
        try {
          db.close();
        } catch {
          // already closed by the case
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  };

  return [
    {
      name: 'statements run, read objects and arrays, and keep duplicate column names',
      run: withDir((_dir, open) => {
        const db = open();
        db.exec('CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT)');
        const insert = db.prepare('INSERT INTO t (b) VALUES (?)');
        assert.equal(insert.run(['x']).changes, 1);
        insert.run(['y']);
        assert.deepEqual(db.prepare('SELECT b FROM t WHERE a = ?').get([1]), { b: 'x' });
        assert.deepEqual(db.prepare('SELECT a, b FROM t ORDER BY a').all(), [{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
        const dup = db.prepare('SELECT a, b, a AS a FROM t ORDER BY a');
        assert.deepEqual(dup.columns(), ['a', 'b', 'a']);
        assert.deepEqual(dup.values(), [[1, 'x', 1], [2, 'y', 2]]);
        assert.deepEqual(db.prepare('SELECT b FROM t WHERE b = :b').all({ b: 'y' }), [{ b: 'y' }]);
        assert.equal(db.prepare('SELECT 1 WHERE 0').get(), undefined);
      }),
    },
    {
      name: 'iterateValues is lazy and can stop early',
      run: withDir((_dir, open) => {
        const db = open();
        const seen: unknown[][] = [];
        for (const row of db.prepare('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n').iterateValues()) {
          seen.push(row);
          if (seen.length === 3) break;
        }
        assert.deepEqual(seen, [[1], [2], [3]]);
        // The statement was released: the connection still works.
        assert.deepEqual(db.prepare('SELECT 42 AS x').values(), [[42]]);
      }),
    },
    {
      name: 'transactions commit, roll back on throw, and nest as savepoints',
      run: withDir((_dir, open) => {
        const db = open();
        db.exec('CREATE TABLE t (v TEXT)');
        const add = (v: string) => db.prepare('INSERT INTO t (v) VALUES (?)').run([v]);
        db.transaction(() => add('committed'));
        assert.throws(() => db.transaction(() => {
          add('rolled back');
          throw new Error('boom');
        }), /boom/);
        db.transaction(() => {
          add('outer');
          try {
            db.transaction(() => {
              add('inner');
              throw new Error('inner fails');
            });
          } catch {
            // the outer transaction carries on
          }
        });
        assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY rowid').values(), [['committed'], ['outer']]);
      }),
    },
    {
      name: 'openDatabase sets WAL, busy_timeout >= 5000, mmap_size 0 and normal locking',
      run: withDir((_dir, open) => {
        const p = readPragmas(open());
        assert.equal(p.journalMode, 'wal');
        assert.ok(p.busyTimeoutMs >= 5000, `busy_timeout ${p.busyTimeoutMs}`);
        assert.equal(p.mmapSize, 0);
        assert.equal(p.lockingMode, 'normal');
        assert.equal(p.synchronous, 1);
      }),
    },
    {
      name: 'a read-only open verifies instead of writing pragmas, and refuses writes with SQLITE_READONLY',
      run: withDir((_dir, open) => {
        const writer = open();
        writer.exec('CREATE TABLE t (v)');
        const reader = open(true);
        assert.equal(reader.readonly, true);
        const p = readPragmas(reader);
        assert.equal(p.journalMode, 'wal');
        assert.ok(p.busyTimeoutMs >= 5000);
        assert.throws(() => reader.exec('INSERT INTO t VALUES (1)'), (error: unknown) => sqliteErrorCode(error) === 'SQLITE_READONLY');
      }),
    },
    {
      name: 'migrations apply on a fresh file, record drizzle rows, and are idempotent',
      run: withDir(async (_dir, open) => {
        const db = open();
        const shipped = (await loadMigrations()).map((m) => m.tag);
        assert.equal(shipped[0], '0000_init');
        const first = await runMigrations(db);
        assert.deepEqual(first.applied, shipped);
        const second = await runMigrations(db);
        assert.deepEqual(second.applied, []);
        const recorded = db.prepare('SELECT hash, created_at FROM __drizzle_migrations').all();
        assert.equal(recorded.length, shipped.length);
        assert.match(String(recorded[0]!['hash']), /^[0-9a-f]{64}$/);
        assert.equal(countRows(db).guilds, 0);
      }),
    },
    {
      name: 'a replica connection waits for the schema without writing, until the primary migrates',
      run: withDir(async (_dir, open) => {
        const writer = open();
        const reader = open(true);
        let ready = false;
        const waiting = waitForSchema(reader, { pollMs: 10 }).then(() => {
          ready = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 30));
        assert.equal(ready, false, 'resolved before any migration ran');
        await runMigrations(writer);
        await waiting;
        assert.equal(ready, true);
        const controller = new AbortController();
        const never = waitForSchema(open(true), { pollMs: 10, signal: controller.signal, migrations: [{ tag: 'x', folderMillis: 1, hash: 'nope', statements: [] }] });
        controller.abort(new Error('stop waiting'));
        await assert.rejects(never, /stop waiting/);
      }),
    },
    {
      name: 'dispatch mutations apply through the funnel: guild snapshot, merges, thread sync, session seq',
      run: withDir(async (_dir, open) => {
        const db = open();
        await runMigrations(db);
        const commits: [number, number][] = [];
        const funnel = new WriteFunnel({ db, commitListener: (shardId, seq) => commits.push([shardId, seq]) });
        const guildId = '81384788765712384';
        const entry = (t: string, d: unknown, seq: number) => ({
          shardId: 0,
          epoch: 1,
          mutations: dispatchMutations({ t, d }, 0, 1),
          session: { sessionId: 's1', seq, resumeGatewayUrl: 'wss://gw.example', shardCount: 1 },
        });
        await funnel.enqueue(entry('GUILD_CREATE', {
          id: guildId, name: 'G', owner_id: '1', member_count: 2, joined_at: '2024-01-01T00:00:00Z',
          channels: [{ id: '10', type: 0, name: 'general', position: 0 }],
          threads: [{ id: '11', type: 11, name: 't', parent_id: '10', guild_id: guildId }],
          roles: [{ id: guildId, name: '@everyone', position: 0, permissions: '0', color: 0 }],
          members: [{ user: { id: '1', username: 'owner', global_name: 'Owner' }, roles: [], joined_at: '2024-01-01T00:00:00Z' }],
          presences: [{ user: { id: '1' }, status: 'online', activities: [] }],
          voice_states: [{ user_id: '1', channel_id: '10', session_id: 'v' }],
          emojis: [{ id: '20', name: 'e' }],
        }, 1));
        await funnel.enqueue(entry('GUILD_UPDATE', { id: guildId, name: 'G2', owner_id: '1', roles: [{ id: guildId, name: '@everyone', position: 0, permissions: '8', color: 0 }] }, 2));
        await funnel.enqueue(entry('PRESENCE_UPDATE', { guild_id: guildId, user: { id: '1', avatar: 'abc' }, status: 'idle', activities: [] }, 3));
        await funnel.enqueue(entry('THREAD_LIST_SYNC', { guild_id: guildId, channel_ids: ['10'], threads: [], members: [] }, 4));
        await funnel.flush();
        const counts = countRows(db);
        assert.equal(counts.guilds, 1);
        assert.equal(counts.channels, 1, 'the thread under channel 10 was synced away');
        assert.equal(counts.members, 1);
        assert.equal(counts.voice_states, 1);
        const g = db.prepare('SELECT name, member_count, joined_at FROM guilds').get();
        assert.deepEqual(g, { name: 'G2', member_count: 2, joined_at: '2024-01-01T00:00:00Z' });
        const u = db.prepare("SELECT username, avatar, json_extract(raw, '$.global_name') AS gn FROM users WHERE id = '1'").get();
        assert.deepEqual(u, { username: 'owner', avatar: 'abc', gn: 'Owner' });
        assert.equal(db.prepare("SELECT status FROM presences").get()?.['status'], 'idle');
        assert.equal(db.prepare('SELECT permissions FROM roles').get()?.['permissions'], '8');
        assert.deepEqual(listShardSessions(db).map((s) => [s.shardId, s.seq]), [[0, 4]]);
        assert.deepEqual(commits, [[0, 4]]);
        await funnel.enqueue({ shardId: 0, epoch: 1, mutations: dispatchMutations({ t: 'READY', d: { user: { id: '99', username: 'bot' }, guilds: [] } }, 0, 1) });
        await funnel.close();
        const after = countRows(db);
        assert.equal(after.guilds + after.channels + after.members + after.roles + after.emojis + after.voice_states + after.presences, 0);
      }),
    },
    {
      name: 'runReadOnlyQuery returns columns and rows, honours maxRows and refuses writes',
      run: withDir(async (_dir, open) => {
        const writer = open();
        await runMigrations(writer);
        const reader = open(true);
        const result = runReadOnlyQuery(reader, 'SELECT value AS n, value * 2 AS n FROM json_each(?)', ['[1,2,3]'], { maxRows: 2 });
        assert.deepEqual(result.columns, ['n', 'n']);
        assert.deepEqual(result.rows, [[1, 2], [2, 4]]);
        assert.equal(result.truncated, true);
        for (const sql of ['DELETE FROM guilds', 'SELECT 1; DELETE FROM guilds', "PRAGMA user_version = 3"]) {
          assert.throws(() => runReadOnlyQuery(writer, sql), (e: unknown) => isShardlineError(e, 'INVALID_INPUT'), sql);
        }
      }),
    },
  ];
}

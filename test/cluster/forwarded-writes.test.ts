import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForwardingWriter } from '../../src/cluster/forwarding-writer.ts';
import { createControlApp } from '../../src/control/create-control-app.ts';
import type { Mutation, WriteEntry } from '../../src/core/mutation.ts';
import { SILENT_LOGGER } from '../../src/core/silent-logger.ts';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { listShardSessions } from '../../src/store/queries.ts';
import { WriteFunnel } from '../../src/store/write-funnel.ts';
import { waitFor } from '../helpers/wait-for.ts';

const SECRET = 'cluster-secret-for-tests';
const user = (id: string): Mutation => ({ op: 'upsert', table: 'users', row: { id, username: `u${id}`, globalName: null, bot: false, avatar: null, raw: '{}' } });
const entry = (shardId: number, seq: number): WriteEntry => ({
  shardId,
  epoch: 1,
  mutations: [user(String(shardId * 1000 + seq))],
  session: { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gw.example', shardCount: 4 },
});

/**
 * Replicas send their next batch as soon as the last is acknowledged. Routine sends ride the
 * primary's scheduled transaction (?wait=batch); a send someone flush()es for is committed at once.
 */
describe('forwarded writes: a replica\'s ForwardingWriter against the primary\'s /internal/writes', () => {
  let dir: string;
  let db: SqliteDriver;
  let funnel: WriteFunnel;
  const urls: string[] = [];
  const writers: ForwardingWriter[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-forwarded-'));
    db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
    funnel = primaryFunnel(100);
  });

  function primaryFunnel(flushIntervalMs: number): WriteFunnel {
    const made = new WriteFunnel({ db, flushIntervalMs });
    made.start();
    return made;
  }
  afterEach(async () => {
    for (const writer of writers.splice(0)) await writer.close();
    await funnel.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
    urls.length = 0;
  });

  function routes() {
    const unused = (): never => {
      throw new Error('not used by these tests');
    };
    return createControlApp({
      adminToken: null,
      clusterSecret: SECRET,
      logger: SILENT_LOGGER,
      readiness: () => ({ ready: true, reasons: [] }),
      status: unused,
      query: unused,
      internal: {
        heartbeat: unused,
        // What PrimaryRole.acceptWrites does once the entries are fenced.
        acceptWrites: async (_nodeId, entries, { batched }) => {
          for (const e of entries) await funnel.enqueue(e);
          if (batched) await funnel.committed();
          else await funnel.flush();
          return { stale: [] };
        },
        identify: unused,
        detach: unused,
        start: unused,
      },
    });
  }

  function replica(nodeId: string): ForwardingWriter {
    const app = routes();
    const writer = new ForwardingWriter({
      nodeId,
      primaryUrl: () => 'http://primary.invalid',
      clusterSecret: SECRET,
      logger: SILENT_LOGGER,
      onStale: () => {},
      flushIntervalMs: 5,
      fetch: async (input, init) => {
        const url = String(input);
        urls.push(url);
        return app.request(url.replace('http://primary.invalid', ''), init as RequestInit);
      },
    });
    writers.push(writer);
    return writer;
  }

  it('commits the routine sends of three replicas in shared transactions, and a flushed send at once', async () => {
    const replicas = ['r1', 'r2', 'r3'].map(replica);
    replicas.forEach((writer, shardId) => void writer.enqueue(entry(shardId, 1)));
    await waitFor(() => replicas.every((w) => w.stats().entries === 1), { message: 'every replica acknowledged' });
    expect(urls.every((u) => u.endsWith('/writes?wait=batch'))).toBe(true);
    expect(funnel.stats().transactions).toBe(1);
    expect(listShardSessions(db).map((s) => s.seq)).toEqual([1, 1, 1]);

    const before = funnel.stats().transactions;
    await replicas[0]!.enqueue(entry(0, 2));
    await replicas[0]!.flush();
    expect(urls.at(-1)).toMatch(/\/writes$/);
    expect(funnel.stats().transactions).toBe(before + 1);
    expect(listShardSessions(db).find((s) => s.shardId === 0)?.seq).toBe(2);
  });

  it('makes the primary commit a routine batch at once when the replica flush()es meanwhile (a detach does not wait for the timer)', async () => {
    await funnel.close();
    funnel = primaryFunnel(3_600_000);
    const writer = replica('r1');
    void writer.enqueue(entry(0, 1));
    await waitFor(() => funnel.stats().queuedEntries === 1, { message: 'the routine batch reached the primary' });
    await writer.enqueue(entry(0, 2));
    const flushed = writer.flush();
    await waitFor(() => listShardSessions(db).find((s) => s.shardId === 0)?.seq === 2, { message: 'committed without waiting for the primary\'s timer' });
    await flushed;
    expect(urls.map((u) => u.replace('http://primary.invalid/internal', ''))).toEqual(['/writes?wait=batch', '/writes', '/writes']);
    expect(funnel.stats().transactions).toBe(2);
  });

  it('refuses an unknown wait mode with a clear error and writes nothing', async () => {
    const res = await routes().request('/internal/writes?wait=later', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
      body: JSON.stringify({ nodeId: 'r1', entries: [entry(0, 1)] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'INVALID_INPUT', message: 'Query parameter wait must be "batch" or absent, got "later"' } });
    expect(funnel.stats()).toMatchObject({ queuedEntries: 0, transactions: 0 });
  });
});

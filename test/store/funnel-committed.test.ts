import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Mutation, WriteEntry } from '../../src/core/mutation.ts';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { nodeTransactionWorkers } from '../../src/runtime/node-transaction-workers.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { listShardSessions } from '../../src/store/queries.ts';
import { WorkerWriteFunnel } from '../../src/store/worker-write-funnel.ts';
import { WriteFunnel } from '../../src/store/write-funnel.ts';

const user = (id: string): Mutation => ({ op: 'upsert', table: 'users', row: { id, username: `u${id}`, globalName: null, bot: false, avatar: null, raw: '{}' } });
const entry = (shardId: number, seq: number, rows = true): WriteEntry => ({
  shardId,
  epoch: 1,
  mutations: rows ? [user(String(shardId * 1000 + seq))] : [],
  session: { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gw.example', shardCount: 16 },
});

type Funnel = WriteFunnel | WorkerWriteFunnel;

/** committed() is how the primary acknowledges forwarded writes: it must share transactions, never start one. */
describe.each([
  ['WriteFunnel (inline)', 'inline'],
  ['WorkerWriteFunnel (thread)', 'thread'],
] as const)('%s committed()', (_name, kind) => {
  let dir: string;
  let path: string;
  let db: SqliteDriver;
  const funnels: Funnel[] = [];
  const make = (options: { flushIntervalMs: number; failNext?: { count: number; sqliteCode: string }; readonly?: boolean }): Funnel => {
    const funnel =
      kind === 'inline'
        ? new WriteFunnel({ db: options.readonly ? openDatabase({ path, driverFactory: betterSqlite3Driver, readonly: true }) : db, flushIntervalMs: options.flushIntervalMs, retryBaseMs: 10, retryMaxMs: 40 })
        : new WorkerWriteFunnel({ databasePath: path, workers: nodeTransactionWorkers, flushIntervalMs: options.flushIntervalMs, retryBaseMs: 10, retryMaxMs: 40, ...(options.failNext ? { failNext: options.failNext } : {}) });
    funnels.push(funnel);
    funnel.start();
    return funnel;
  };
  const seqs = (): Record<number, number> => Object.fromEntries(listShardSessions(db).map((s) => [s.shardId, s.seq]));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-committed-'));
    path = join(dir, 'shardline.db');
    db = openDatabase({ path, driverFactory: betterSqlite3Driver });
    await runMigrations(db);
  });
  afterEach(async () => {
    for (const funnel of funnels.splice(0)) await funnel.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets senders arriving together share the next scheduled transaction', async () => {
    const funnel = make({ flushIntervalMs: 150 });
    const senders = [1, 2, 3].map(async (shardId) => {
      await funnel.enqueue(entry(shardId, 1));
      await funnel.committed();
      return seqs()[shardId];
    });
    expect(funnel.stats().transactions).toBe(0); // waiting starts nothing
    expect(await Promise.all(senders)).toEqual([1, 1, 1]);
    expect(funnel.stats().transactions).toBe(1);
    await expect(funnel.committed()).resolves.toBeUndefined(); // nothing pending: at once
  });

  it('rejects with the failed transaction\'s error, and the entries stay queued and commit later', async () => {
    const funnel = kind === 'inline' ? make({ flushIntervalMs: 20, readonly: true }) : make({ flushIntervalMs: 20, failNext: { count: 1, sqliteCode: 'SQLITE_FULL' } });
    await funnel.enqueue(entry(4, 7));
    await expect(funnel.committed()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(funnel.stats().queuedEntries).toBe(1);
    if (kind === 'thread') {
      await funnel.committed();
      expect(seqs()[4]).toBe(7);
    }
  });

  it('resolves for entries handed on by drain(), and rejects once closed', async () => {
    const funnel = make({ flushIntervalMs: 60_000 });
    await funnel.enqueue(entry(5, 1));
    const waiting = funnel.committed();
    const drained = await funnel.drain();
    expect(drained).toHaveLength(1);
    await expect(waiting).resolves.toBeUndefined();
    await funnel.close();
    await expect(funnel.committed()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

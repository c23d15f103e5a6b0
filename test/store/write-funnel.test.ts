import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isShardlineError } from '../../src/core/errors.ts';
import type { ShardlineError } from '../../src/core/errors.ts';
import type { Mutation, WriteEntry } from '../../src/core/mutation.ts';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { countRows, listShardSessions } from '../../src/store/queries.ts';
import { WriteFunnel } from '../../src/store/write-funnel.ts';
import { dispatchMutations } from '../../src/store/dispatch-mutations.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { guild, guildCreate, guildIdOnShard, member, role, textChannel } from './discord-fixtures.ts';

/** Wraps a driver so a test can make writes fail the way a LiteFS replica or a full disk does. */
function faultyDriver(inner: SqliteDriver) {
  const state = { failWith: undefined as string | undefined, failAfterRuns: Infinity, runs: 0, transactions: 0 };
  const fail = (code: string) => Object.assign(new Error(code === 'SQLITE_FULL' ? 'database or disk is full' : 'attempt to write a readonly database'), { code });
  const driver: SqliteDriver = {
    ...inner,
    path: inner.path,
    readonly: inner.readonly,
    exec: (sql) => inner.exec(sql),
    close: () => inner.close(),
    prepare: (sql) => {
      const stmt = inner.prepare(sql);
      return {
        ...stmt,
        readonly: stmt.readonly,
        run: (params) => {
          state.runs += 1;
          if (state.runs > state.failAfterRuns) throw fail('SQLITE_FULL');
          return stmt.run(params);
        },
      };
    },
    transaction: (fn) => {
      if (state.failWith) throw fail(state.failWith);
      state.transactions += 1;
      return inner.transaction(fn);
    },
  };
  return { driver, state };
}

const user = (id: string): Mutation => ({ op: 'upsert', table: 'users', row: { id, username: `u${id}`, globalName: null, bot: false, avatar: null, raw: '{}' } });
const memberOf = (guildId: string, id: string): Mutation => ({ op: 'upsert', table: 'members', row: { guildId, userId: id, nick: null, joinedAt: null, roles: '[]', raw: '{}' } });
const entry = (shardId: number, seq: number, epoch = 1): WriteEntry => ({
  shardId,
  epoch,
  mutations: [user(String(shardId * 1000 + seq)), memberOf('1', String(shardId * 1000 + seq))],
  session: { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gw.example', shardCount: 16 },
});

describe('WriteFunnel', () => {
  let dir: string;
  let db: SqliteDriver;
  const funnels: WriteFunnel[] = [];
  const make = (options: Partial<ConstructorParameters<typeof WriteFunnel>[0]> = {}) => {
    const funnel = new WriteFunnel({ db, flushIntervalMs: 20, retryBaseMs: 10, retryMaxMs: 40, ...options });
    funnels.push(funnel);
    return funnel;
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-funnel-'));
    db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
  });
  afterEach(async () => {
    for (const funnel of funnels.splice(0)) await funnel.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('batches entries from 16 shards into one transaction and commits each shard seq with its rows', async () => {
    const { driver, state } = faultyDriver(db);
    const commits = new Map<number, number>();
    const funnel = make({ db: driver, flushThresholdRows: 1_000_000, commitListener: (shard, seq) => commits.set(shard, seq) });
    funnel.start();
    // Enqueue resolves without yielding to timers, so all 800 entries are pending before the first flush.
    for (let seq = 1; seq <= 50; seq += 1) for (let shard = 0; shard < 16; shard += 1) await funnel.enqueue(entry(shard, seq));
    await waitFor(() => funnel.stats().queuedEntries === 0 && funnel.stats().transactions > 0);
    expect(state.transactions).toBe(1);
    expect(funnel.stats()).toMatchObject({ transactions: 1, committedEntries: 800, committedRows: 1600 + 16, maxBatchMutations: 1600 });
    expect(countRows(db).members).toBe(800);
    expect(listShardSessions(db).map((s) => s.seq)).toEqual(Array(16).fill(50));
    expect([...commits.entries()].sort((a, b) => a[0] - b[0])).toEqual(Array.from({ length: 16 }, (_, i) => [i, 50]));
  });

  it('flushes early once the pending row threshold is reached', async () => {
    const funnel = make({ flushIntervalMs: 60_000, flushThresholdRows: 10 });
    funnel.start();
    for (let seq = 1; seq <= 5; seq += 1) await funnel.enqueue(entry(0, seq));
    await waitFor(() => funnel.stats().transactions === 1);
    expect(countRows(db).members).toBe(5);
  });

  it('never commits a seq without its rows: a transaction failing half way leaves both out, then both land', async () => {
    const { driver, state } = faultyDriver(db);
    const errors: ShardlineError[] = [];
    const funnel = make({ db: driver, errorListener: (e) => errors.push(e) });
    state.failAfterRuns = 3;
    for (let seq = 1; seq <= 4; seq += 1) await funnel.enqueue(entry(2, seq));
    await expect(funnel.flush()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(errors[0]?.message).toContain('SQLITE_FULL');
    expect(countRows(db).members).toBe(0);
    expect(listShardSessions(db)).toEqual([]);
    expect(funnel.stats()).toMatchObject({ queuedEntries: 4, failedTransactions: 1, consecutiveFailures: 1 });
    state.failAfterRuns = Infinity;
    await funnel.flush();
    expect(countRows(db).members).toBe(4);
    expect(listShardSessions(db)[0]?.seq).toBe(4);
  });

  it('holds enqueue back above the high-water mark and releases it after a flush', async () => {
    const funnel = make({ flushIntervalMs: 60_000, flushThresholdRows: 1_000_000, highWaterRows: 6 });
    funnel.start();
    for (let seq = 1; seq <= 3; seq += 1) await funnel.enqueue(entry(0, seq)); // 2 mutations each: 6 pending
    let released = false;
    const blocked = funnel.enqueue(entry(0, 4)).then(() => {
      released = true;
    });
    await Promise.resolve();
    expect(released).toBe(false);
    expect(funnel.stats()).toMatchObject({ blockedEnqueues: 1, queuedRows: 8 });
    await funnel.flush();
    await blocked;
    expect(released).toBe(true);
    expect(funnel.stats().blockedEnqueues).toBe(0);
    expect(countRows(db).members).toBe(4);
  });

  it('reports STORE_UNAVAILABLE naming SQLITE_READONLY while the database refuses writes, loses nothing, and catches up', async () => {
    const { driver, state } = faultyDriver(db);
    const errors: ShardlineError[] = [];
    const funnel = make({ db: driver, errorListener: (e) => errors.push(e) });
    funnel.start();
    state.failWith = 'SQLITE_READONLY';
    for (let seq = 1; seq <= 10; seq += 1) await funnel.enqueue(entry(5, seq));
    await waitFor(() => funnel.stats().failedTransactions >= 2);
    expect(errors[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(errors[0]?.message).toMatch(/SQLITE_READONLY/);
    expect(funnel.stats().lastError?.message).toMatch(/SQLITE_READONLY/);
    expect(funnel.stats().queuedEntries).toBe(10);
    state.failWith = undefined;
    await waitFor(() => funnel.stats().queuedEntries === 0);
    expect(countRows(db).members).toBe(10);
    expect(listShardSessions(db)[0]?.seq).toBe(10);
    expect(funnel.stats()).toMatchObject({ consecutiveFailures: 0, lastError: null });
  });

  it('fails on a real read-only connection with STORE_UNAVAILABLE', async () => {
    const reader = openDatabase({ path: join(dir, 'shardline.db'), readonly: true, driverFactory: betterSqlite3Driver });
    try {
      const funnel = make({ db: reader });
      await funnel.enqueue(entry(1, 1));
      await expect(funnel.flush()).rejects.toSatisfy((e: unknown) => isShardlineError(e, 'STORE_UNAVAILABLE') && /SQLITE_READONLY/.test((e as Error).message));
      expect(funnel.stats().queuedEntries).toBe(1);
    } finally {
      await funnels.pop()?.close();
      reader.close();
    }
  });

  it('rejects a stale epoch at enqueue and drops one that went stale before the flush, writing nothing of either', async () => {
    const current = new Map<number, number>([[7, 2]]);
    const errors: ShardlineError[] = [];
    const funnel = make({ fence: (shard, epoch) => (current.get(shard) ?? 0) === epoch, errorListener: (e) => errors.push(e) });
    await expect(funnel.enqueue(entry(7, 1, 1))).rejects.toMatchObject({ code: 'STALE_EPOCH' });
    await funnel.enqueue(entry(7, 2, 2));
    current.set(7, 3); // moved before the commit
    await funnel.flush();
    expect(errors.map((e) => e.code)).toEqual(['STALE_EPOCH']);
    expect(countRows(db).members).toBe(0);
    expect(listShardSessions(db)).toEqual([]);
    expect(funnel.stats().staleRejected).toBe(2);
  });

  it('drops only the entry SQLite refuses as bad data and commits the rest', async () => {
    const errors: ShardlineError[] = [];
    const funnel = make({ errorListener: (e) => errors.push(e) });
    const bad: WriteEntry = { shardId: 0, epoch: 1, mutations: [{ op: 'upsert', table: 'roles', row: { id: '5', guildId: '1', name: null as unknown as string, position: 0, permissions: '0', color: 0, raw: '{}' } }] };
    await funnel.enqueue(entry(0, 1));
    await funnel.enqueue(bad);
    await funnel.enqueue(entry(0, 2));
    await funnel.flush();
    expect(errors.map((e) => e.code)).toEqual(['INVALID_INPUT']);
    expect(countRows(db)).toMatchObject({ members: 2, roles: 0 });
    expect(funnel.stats().droppedEntries).toBe(1);
  });

  it('applying the same mutations twice leaves the same rows (idempotent, so forwarded retries are safe)', async () => {
    const funnel = make();
    const G = guildIdOnShard(2, 16);
    const mutations = dispatchMutations({ t: 'GUILD_CREATE', d: guildCreate(G, { members: [member('1'), member('2')], channels: [textChannel('10', G)] }) }, 2, 16);
    const snapshot = () => ['guilds', 'channels', 'roles', 'users', 'members'].map((t) => db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).values().map((r) => r.filter((v) => typeof v !== 'number' || v < 1e12)));
    await funnel.enqueue({ shardId: 2, epoch: 1, mutations });
    await funnel.flush();
    const once = snapshot();
    await funnel.enqueue(JSON.parse(JSON.stringify({ shardId: 2, epoch: 1, mutations })) as WriteEntry);
    await funnel.flush();
    expect(snapshot()).toEqual(once);
    expect(countRows(db)).toMatchObject({ guilds: 1, channels: 1, members: 2 });
  });

  it('a replacement list (GUILD_UPDATE roles, emojis) removes what it lacks and rewrites nothing it repeats', async () => {
    const funnel = make();
    const G = guildIdOnShard(1, 4);
    const apply = async (t: string, d: unknown): Promise<void> => {
      await funnel.enqueue({ shardId: 1, epoch: 1, mutations: dispatchMutations({ t, d }, 1, 4) });
      await funnel.flush();
    };
    const emojis = [{ id: '21', name: 'a' }, { id: '22', name: 'b' }];
    await apply('GUILD_CREATE', guildCreate(G, { roles: [role(G), role('5'), role('6')], emojis }));
    const rowids = (table: string): unknown[][] => db.prepare(`SELECT id, rowid FROM ${table} ORDER BY id`).values();
    const before = { roles: rowids('roles'), emojis: rowids('emojis'), transactions: funnel.stats().transactions, rows: funnel.stats().committedRows };

    await apply('GUILD_UPDATE', guild(G, { roles: [role(G), role('5')], emojis }));
    // Role 6 went; the rest are the very rows from before (a delete and re-insert would move rowids).
    expect(rowids('roles')).toEqual(before.roles.filter(([id]) => id !== '6'));
    expect(rowids('emojis')).toEqual(before.emojis);
    // Rows changed: the guild (a merge always writes) and role 6's delete; none for the repeats.
    expect(funnel.stats().committedRows - before.rows).toBe(2);

    await apply('GUILD_EMOJIS_UPDATE', { guild_id: G, emojis: [{ id: '22', name: 'b2' }, { id: '23', name: 'c' }] });
    expect(db.prepare('SELECT id, name FROM emojis ORDER BY id').values()).toEqual([['22', 'b2'], ['23', 'c']]);
  });

  it('GUILD_MEMBER_ADD/REMOVE move member_count once each, even when applied twice', async () => {
    const funnel = make();
    const G = guildIdOnShard(1, 4);
    const apply = async (t: string, d: unknown): Promise<void> => {
      const mutations = dispatchMutations({ t, d }, 1, 4);
      for (let i = 0; i < 2; i++) await funnel.enqueue({ shardId: 1, epoch: 1, mutations: JSON.parse(JSON.stringify(mutations)) as Mutation[] });
      await funnel.flush();
    };
    const count = (): number => Number(db.prepare('SELECT member_count FROM guilds WHERE id = ?').values([G])[0]![0]);
    await apply('GUILD_CREATE', guildCreate(G, { members: [member('1'), member('2')], member_count: 2 }));
    expect(count()).toBe(2);
    await apply('GUILD_MEMBER_ADD', { ...member('3'), guild_id: G });
    expect(count()).toBe(3);
    await apply('GUILD_MEMBER_REMOVE', { guild_id: G, user: member('1').user });
    expect(count()).toBe(2);
    expect(countRows(db).members).toBe(2);
  });

  it('close() flushes what is pending and refuses later writes', async () => {
    const funnel = make({ flushIntervalMs: 60_000 });
    funnel.start();
    await funnel.enqueue(entry(3, 1));
    await funnel.close();
    expect(countRows(db).members).toBe(1);
    await expect(funnel.enqueue(entry(3, 2))).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

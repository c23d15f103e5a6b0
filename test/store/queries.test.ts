import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { dispatchMutations } from '../../src/store/dispatch-mutations.ts';
import { createDrizzle } from '../../src/store/drizzle-database.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase, readPragmas } from '../../src/store/open-database.ts';
import { countRows, getGuild, listMembers, runReadOnlyQuery } from '../../src/store/queries.ts';
import { guilds } from '../../src/store/schema.ts';
import { WriteFunnel } from '../../src/store/write-funnel.ts';
import { guildCreate, guildIdOnShard, member } from './discord-fixtures.ts';

describe('read queries', () => {
  let dir: string;
  let writer: SqliteDriver;
  let reader: SqliteDriver;
  const G = guildIdOnShard(1, 4);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-queries-'));
    const path = join(dir, 'shardline.db');
    writer = openDatabase({ path, driverFactory: betterSqlite3Driver });
    await runMigrations(writer);
    const funnel = new WriteFunnel({ db: writer });
    const members = Array.from({ length: 30 }, (_, i) => member(String(100 + i)));
    await funnel.enqueue({ shardId: 1, epoch: 1, mutations: dispatchMutations({ t: 'GUILD_CREATE', d: guildCreate(G, { members, member_count: 30 }) }, 1, 4) });
    await funnel.close();
    reader = openDatabase({ path, readonly: true, driverFactory: betterSqlite3Driver });
  });
  afterEach(() => {
    reader.close();
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts rows, reads a guild and pages through members', () => {
    expect(countRows(reader)).toMatchObject({ guilds: 1, members: 30, users: 30, roles: 1 });
    expect(getGuild(reader, G)).toMatchObject({ id: G, shardId: 1, memberCount: 30, unavailable: false, raw: { name: `guild${G}` } });
    expect(getGuild(reader, '1')).toBeUndefined();
    const first = listMembers(reader, G, { limit: 20 });
    const rest = listMembers(reader, G, { limit: 20, after: first.at(-1)!.userId });
    expect(first).toHaveLength(20);
    expect(rest).toHaveLength(10);
    expect(first[0]).toMatchObject({ userId: '100', username: 'user100', roles: [] });
  });

  it('runReadOnlyQuery reaches raw JSON, binds params and truncates at maxRows', () => {
    const r = runReadOnlyQuery(reader, "SELECT user_id, json_extract(raw, '$.deaf') AS deaf FROM members WHERE guild_id = :g ORDER BY user_id", { g: G }, { maxRows: 5 });
    expect(r).toMatchObject({ columns: ['user_id', 'deaf'], truncated: true, timedOut: false });
    expect(r.rows).toEqual([['100', 0], ['101', 0], ['102', 0], ['103', 0], ['104', 0]]);
    expect(runReadOnlyQuery(reader, 'SELECT count(*) AS n FROM members', [], { maxRows: 5 })).toMatchObject({ rows: [[30]], truncated: false });
  });

  it('stops at the deadline between rows and says so', () => {
    const r = runReadOnlyQuery(reader, 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n', [], { maxRows: Number.MAX_SAFE_INTEGER, timeoutMs: 0 });
    expect(r.timedOut).toBe(true);
    expect(r.truncated).toBe(true);
  });

  it.each([
    "INSERT INTO users (id, raw) VALUES ('1', '{}')",
    "UPDATE guilds SET name = 'x'",
    'DELETE FROM members',
    'DROP TABLE guilds',
    "ATTACH DATABASE ':memory:' AS x",
    'PRAGMA user_version = 3',
    'PRAGMA journal_mode = DELETE',
    'SELECT 1; DELETE FROM members',
  ])('refuses %s with INVALID_INPUT even on the writable connection, and writes nothing', (sql) => {
    expect(() => runReadOnlyQuery(writer, sql)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(countRows(writer)).toMatchObject({ guilds: 1, members: 30 });
    expect(readPragmas(writer).journalMode).toBe('wal');
  });

  it('turns bad SQL and bad parameters into INVALID_INPUT', () => {
    expect(() => runReadOnlyQuery(reader, 'SELECT * FROM nowhere')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('no such table') }));
    expect(() => runReadOnlyQuery(reader, 'SELECT ?', [{ a: 1 }])).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => runReadOnlyQuery(reader, 'SELECT 1', [], { maxRows: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('gives users a drizzle instance over the port', async () => {
    const orm = createDrizzle(reader);
    const rows = await orm.select({ id: guilds.id, name: guilds.name, unavailable: guilds.unavailable }).from(guilds).where(eq(guilds.id, G));
    expect(rows).toEqual([{ id: G, name: `guild${G}`, unavailable: false }]);
    expect(await orm.select().from(guilds).where(eq(guilds.id, '1')).get()).toBeUndefined();
    expect((await orm.query.guilds.findFirst())?.memberCount).toBe(30);
  });
});

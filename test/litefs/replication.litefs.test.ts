import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isUnavailableError, sqliteErrorCode, type SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { LiteFsCluster } from './litefs-cluster.ts';
import { liteFsPrerequisites, type LiteFsTools } from './prerequisites.ts';

const DB = 'shard.db';

describe('real LiteFS: replication and writes on replicas', () => {
  let tools: LiteFsTools;
  let cluster: LiteFsCluster;
  const open: SqliteDriver[] = [];
  const clusters: LiteFsCluster[] = [];

  beforeAll(() => {
    tools = liteFsPrerequisites();
  });

  beforeEach(async () => {
    cluster = await LiteFsCluster.start({
      tools,
      nodes: [{ hostname: 'n1' }, { hostname: 'n2' }, { hostname: 'r1', candidate: false }],
      keepDir: process.env['SHARDLINE_LITEFS_KEEP'] === '1',
    });
    clusters.push(cluster);
  });

  afterEach(async () => {
    // Connections first: an open file on the mount would make the unmount lazy.
    for (const driver of open.splice(0)) driver.close();
    await cluster.close();
  });

  afterAll(async () => {
    await Promise.allSettled(clusters.map((c) => c.close()));
  });

  const connect = (hostname: string, readonly = false): SqliteDriver => {
    const driver = openDatabase({ path: join(cluster.node(hostname).mountDir, DB), readonly, driverFactory: betterSqlite3Driver });
    open.push(driver);
    return driver;
  };
  const count = (driver: SqliteDriver): number => Number(driver.prepare('select count(*) as n from t').get()?.['n']);
  /** A replica's connection once the primary's table has arrived (the file appears with its first page). */
  const replicaWith = async (hostname: string, rows: number, readonly = true): Promise<SqliteDriver> => {
    let driver: SqliteDriver | null = null;
    await waitFor(() => {
      try {
        driver ??= connect(hostname, readonly);
        return count(driver) === rows;
      } catch {
        return false;
      }
    }, { timeoutMs: 30_000, message: `${hostname} has ${rows} rows of ${DB}` });
    return driver!;
  };
  const writeError = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    throw new Error('the write succeeded on a node that is not primary');
  };

  it('replicates a committed write on the primary to every replica, candidate or not', async () => {
    const writer = connect('n1');
    writer.exec('create table t (id integer primary key, v text not null)');
    writer.transaction(() => {
      for (let i = 0; i < 50; i++) writer.prepare('insert into t (v) values (?)').run([`row ${i}`]);
    });
    for (const hostname of ['n2', 'r1']) {
      const reader = await replicaWith(hostname, 50);
      expect(reader.prepare('select v from t order by id desc limit 1').get()).toEqual({ v: 'row 49' });
    }
    writer.prepare('insert into t (v) values (?)').run(['later']);
    for (const hostname of ['n2', 'r1']) await replicaWith(hostname, 51);
  });

  it('fails a write on a replica with SQLITE_IOERR "disk I/O error" (WAL), writes nothing, and keeps replicating', async () => {
    const writer = connect('n1');
    writer.exec('create table t (id integer primary key, v text not null)');
    writer.prepare('insert into t (v) values (?)').run(['from primary']);
    for (const hostname of ['n2', 'r1']) {
      // A writable openDatabase on a replica: WAL is already set, so only the write itself fails.
      const replica = await replicaWith(hostname, 1, false);
      const error = writeError(() => replica.prepare('insert into t (v) values (?)').run(['from replica']));
      expect(sqliteErrorCode(error)).toBe('SQLITE_IOERR');
      expect((error as { code?: unknown }).code).toBe('SQLITE_IOERR_WRITE');
      expect((error as Error).message).toBe('disk I/O error');
      expect(isUnavailableError(error)).toBe(true);
      const inTransaction = writeError(() => replica.transaction(() => replica.exec('delete from t')));
      expect(sqliteErrorCode(inTransaction)).toBe('SQLITE_IOERR');
      expect(count(replica)).toBe(1);
    }
    writer.prepare('insert into t (v) values (?)').run(['after the failed replica writes']);
    for (const hostname of ['n2', 'r1']) await replicaWith(hostname, 2);
  });

  it('fails writes on a connection opened while primary once the role moves, and the new primary replicates back', async () => {
    const oldWriter = connect('n1');
    oldWriter.exec('create table t (id integer primary key, v text not null)');
    oldWriter.prepare('insert into t (v) values (?)').run(['before handoff']);
    await replicaWith('n2', 1, false);
    const response = await fetch(`${cluster.node('n2').url}/promote`, { method: 'POST' });
    expect(response.status).toBe(200);
    await waitFor(async () => (await cluster.info('n2'))?.isPrimary === true && (await cluster.info('n1'))?.primary?.hostname === 'n2', {
      timeoutMs: 30_000,
      message: 'n2 primary and n1 following it',
    });
    const error = writeError(() => oldWriter.prepare('insert into t (v) values (?)').run(['late write on the old primary']));
    expect(sqliteErrorCode(error)).toBe('SQLITE_IOERR');
    expect((error as Error).message).toBe('disk I/O error');
    const newWriter = connect('n2');
    newWriter.prepare('insert into t (v) values (?)').run(['from the new primary']);
    await waitFor(() => count(oldWriter) === 2, { timeoutMs: 30_000, message: 'the old primary replicates from the new one' });
    expect(oldWriter.prepare('select v from t order by id').all()).toEqual([{ v: 'before handoff' }, { v: 'from the new primary' }]);
    await replicaWith('r1', 2);
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { sqliteErrorCode } from '../../src/core/sqlite.ts';
import { SimLiteFs } from '../../src/litefs-sim/sim-litefs.ts';
import type { SimLiteFsNode } from '../../src/litefs-sim/sim-litefs-node.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('simulated LiteFS', () => {
  let dir: string;
  let cluster: SimLiteFs;
  let nodes: SimLiteFsNode[];
  const open: SqliteDriver[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-simlitefs-'));
    cluster = new SimLiteFs({ dir, driverFactory: betterSqlite3Driver, ttlMs: 400, lockDelayMs: 50, lagMs: 20 });
    nodes = [cluster.addNode('a'), cluster.addNode('b'), cluster.addNode('c')];
    for (const node of nodes) await node.start();
    cluster.start();
    await waitFor(() => cluster.primary());
  });

  afterEach(async () => {
    for (const driver of open.splice(0)) driver.close();
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const connect = (node: SimLiteFsNode): SqliteDriver => {
    const driver = node.driverFactory({ path: node.dbPath, readonly: false, busyTimeoutMs: 5000 });
    open.push(driver);
    return driver;
  };
  const count = (driver: SqliteDriver): number => Number(driver.prepare('select count(*) as n from t').get()?.['n']);

  it('replicates the primary\'s committed transactions to every replica, in order', async () => {
    const primary = cluster.primary()!;
    const writer = connect(primary);
    writer.exec('create table t (id integer primary key, v text)');
    writer.transaction(() => {
      for (let i = 0; i < 100; i++) writer.prepare('insert into t (v) values (?)').run([`row ${i}`]);
    });
    for (const replica of nodes.filter((n) => n !== primary)) {
      const reader = connect(replica);
      await waitFor(() => { try { return count(reader) === 100; } catch { return false; } }, { message: `replica ${replica.hostname} caught up` });
      expect(reader.prepare('select v from t order by id desc limit 1').get()).toEqual({ v: 'row 99' });
      expect(readFileSync(join(replica.mountDir, '.primary'), 'utf8')).toBe(`${primary.hostname}\n`);
      expect(readFileSync(join(replica.mountDir, 'shardline.db-pos'), 'utf8')).toMatch(/^[0-9a-f]{16}\/[0-9a-f]{16}\n$/);
    }
    expect(existsSync(join(primary.mountDir, '.primary'))).toBe(false);
  });

  it('fails writes on a replica the way LiteFS does in WAL mode, and writes nothing', async () => {
    const primary = cluster.primary()!;
    connect(primary).exec('create table t (id integer primary key, v text)');
    const replica = nodes.find((n) => n !== primary)!;
    const driver = connect(replica);
    await waitFor(() => { try { return count(driver) === 0; } catch { return false; } });
    const error = (() => { try { driver.prepare('insert into t (v) values (?)').run(['x']); } catch (e) { return e; } })();
    expect(sqliteErrorCode(error)).toBe('SQLITE_IOERR');
    expect((error as Error).message).toBe('disk I/O error');
    expect(() => driver.transaction(() => driver.exec('delete from t'))).toThrow('disk I/O error');
    expect(count(driver)).toBe(0);
  });

  it('hands the lease over on promote and fences the old primary', async () => {
    const old = cluster.primary()!;
    const oldWriter = connect(old);
    oldWriter.exec('create table t (id integer primary key, v text)');
    const target = nodes.find((n) => n !== old)!;
    const response = await fetch(`${target.url}/promote`, { method: 'POST' });
    expect(response.status).toBe(200);
    await waitFor(() => target.view.isPrimary);
    expect(() => oldWriter.prepare('insert into t (v) values (?)').run(['late'])).toThrow('disk I/O error');
    const writer = connect(target);
    writer.prepare('insert into t (v) values (?)').run(['from new primary']);
    const reader = connect(old);
    await waitFor(() => count(reader) === 1, { message: 'old primary replicates from the new one' });
  });

  it('elects a new primary only after the dead primary\'s lease expires', async () => {
    const dead = cluster.primary()!;
    const killedAt = Date.now();
    await dead.kill();
    const next = await waitFor(() => cluster.primary());
    expect(next).not.toBe(dead);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(400);
  });

  it('answers /info like LiteFS', async () => {
    const primary = cluster.primary()!;
    const replica = nodes.find((n) => n !== primary)!;
    const response = await fetch(`${replica.url}/info`);
    expect(response.headers.get('litefs-id')).toMatch(/^[0-9A-F]{16}$/);
    expect(await response.json()).toMatchObject({ isPrimary: false, candidate: true, primary: { hostname: primary.hostname } });
  });
});

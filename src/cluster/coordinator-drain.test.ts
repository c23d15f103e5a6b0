import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqliteDriver } from '../core/sqlite.ts';
import { silentLogger } from '../log/create-logger.ts';
import { betterSqlite3Driver } from '../runtime/better-sqlite3-driver.ts';
import { runMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open-database.ts';
import { Coordinator } from './coordinator.ts';

/** The database as a full disk leaves it: reads work, writes to `nodes` fail with SQLITE_FULL while `full` is set. */
function fillable(db: SqliteDriver): SqliteDriver & { full: boolean } {
  const wrapped = {
    ...db,
    full: false,
    prepare(sql: string) {
      const statement = db.prepare(sql);
      if (!/^\s*update\s+nodes/i.test(sql)) return statement;
      const fail = (): never => {
        throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      };
      return { ...statement, run: (params?: unknown) => (wrapped.full ? fail() : statement.run(params as never)) };
    },
    transaction: <T>(fn: () => T): T => db.transaction(fn),
  };
  return wrapped;
}

describe('coordinator drain flag', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('regression: draining a node while the primary\'s disk was full answered 500 (an unexpected error) and set the flag in memory only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-coordinator-'));
    dirs.push(dir);
    const inner = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(inner);
    const db = fillable(inner);
    const coordinator = new Coordinator({
      nodeId: 'a',
      db,
      shardCount: 2,
      logger: silentLogger(),
      nodeTimeoutMs: 5_000,
      tickMs: 250,
      settleMs: 0,
      commands: { detach: () => Promise.reject(new Error('unused')), start: () => Promise.resolve() },
    });
    coordinator.start();
    for (const nodeId of ['a', 'b']) coordinator.heartbeat({ nodeId, url: `http://${nodeId}`, version: 't', startedAt: 0, shards: [] });
    await coordinator.tick();

    db.full = true;
    await expect(coordinator.setDraining('b', true)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/Cannot drain node b: .*SQLITE_FULL/) });
    expect(coordinator.liveNodes().sort()).toEqual(['a', 'b']);
    db.full = false;
    await coordinator.setDraining('b', true);
    expect(coordinator.liveNodes()).toEqual(['a']);
    await expect(coordinator.setDraining('nobody', true)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    coordinator.stop();
    inner.close();
  });
});

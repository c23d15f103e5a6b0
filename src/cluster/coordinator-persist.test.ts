import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log/create-logger.ts';
import { betterSqlite3Driver } from '../runtime/better-sqlite3-driver.ts';
import { runMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open-database.ts';
import { Coordinator } from './coordinator.ts';

describe('coordinator heartbeat persistence', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('waits while the store is busy on another connection, at most 5 s, and writes newcomers at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-coordinator-'));
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
    let now = 1_000_000;
    let busy = false;
    const coordinator = new Coordinator({
      nodeId: 'a',
      db,
      shardCount: 1,
      logger: silentLogger(),
      nodeTimeoutMs: 60_000,
      tickMs: 250,
      settleMs: 0,
      clock: { now: () => now },
      storeBusy: () => busy,
      commands: { detach: () => Promise.reject(new Error('unused')), start: () => Promise.resolve() },
    });
    const beat = (): void => void coordinator.heartbeat({ nodeId: 'a', url: 'http://a', version: 't', startedAt: 0, shards: [] });
    const persisted = (): number => Number(db.prepare("select last_heartbeat_at as t from nodes where id = 'a'").get()?.['t'] ?? 0);
    const tick = (ms: number): void => {
      now += ms;
      beat();
      coordinator.tick();
    };
    coordinator.start();
    busy = true;
    tick(250);
    expect(persisted()).toBe(now); // a newcomer is written even while busy
    const first = persisted();
    tick(1_000);
    tick(1_000);
    expect(persisted()).toBe(first); // busy: deferred
    busy = false;
    tick(250);
    expect(persisted()).toBe(now); // free: written at the next tick
    const second = persisted();
    busy = true;
    for (let i = 0; i < 4; i++) tick(1_000);
    expect(persisted()).toBe(second);
    tick(1_000);
    expect(persisted()).toBe(now); // 5 s of busy: written anyway
    coordinator.stop();
    db.close();
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log/create-logger.ts';
import { betterSqlite3Driver } from '../runtime/better-sqlite3-driver.ts';
import { runMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open-database.ts';
import { Coordinator } from './coordinator.ts';

describe('coordinator failure detection', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function setup() {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-coordinator-'));
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
    let now = 1_000_000;
    const coordinator = new Coordinator({
      nodeId: 'a',
      db,
      shardCount: 2,
      logger: silentLogger(),
      nodeTimeoutMs: 5_000,
      tickMs: 250,
      settleMs: 0,
      clock: { now: () => now },
      commands: { detach: () => Promise.reject(new Error('unused')), start: () => Promise.resolve() },
    });
    const beat = (nodeId: string): void => void coordinator.heartbeat({ nodeId, url: `http://${nodeId}`, version: 't', startedAt: 0, shards: [] });
    const advance = async (ms: number, everyMs = 250): Promise<void> => {
      for (let t = 0; t < ms; t += everyMs) {
        now += everyMs;
        await coordinator.tick();
      }
    };
    return { coordinator, db, beat, advance, stallFor: (ms: number) => (now += ms) };
  }

  it('does not count a stall of its own process as the other nodes\' silence', async () => {
    const { coordinator, db, beat, advance, stallFor } = await setup();
    coordinator.start();
    beat('a');
    beat('b');
    await advance(1_000);
    // The process stalls for longer than nodeTimeout; the heartbeats wait behind the next tick.
    stallFor(8_000);
    await coordinator.tick();
    beat('a');
    beat('b');
    const events = db.prepare("select kind from cluster_events where kind = 'dead'").all();
    expect(events).toEqual([]);
    coordinator.stop();
    db.close();
  });

  it('still declares a node dead after nodeTimeout of real silence', async () => {
    const { coordinator, db, beat, advance } = await setup();
    coordinator.start();
    beat('a');
    beat('b');
    for (let i = 0; i < 30; i++) {
      await advance(250);
      beat('a');
    }
    const dead = db.prepare("select node_id from cluster_events where kind = 'dead'").all();
    expect(dead).toEqual([{ node_id: 'b' }]);
    coordinator.stop();
    db.close();
  });
});

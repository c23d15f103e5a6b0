import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log/create-logger.ts';
import { betterSqlite3Driver } from '../runtime/better-sqlite3-driver.ts';
import { runMigrations } from '../store/migrate.ts';
import { openDatabase } from '../store/open-database.ts';
import { readAssignments } from './cluster-tables.ts';
import { Coordinator } from './coordinator.ts';

/** Lets every queued callback run, so a write that did not wait for the gate would show. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('coordinator rounds write through exclusive()', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A gate standing in for the funnel's transaction thread: while closed, writes wait. */
  function gate() {
    let closed = false;
    const waiting: (() => void)[] = [];
    let calls = 0;
    const exclusive = <T,>(write: () => T): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        calls += 1;
        const run = (): void => {
          try {
            resolve(write());
          } catch (error) {
            reject(error);
          }
        };
        if (closed) waiting.push(run);
        else queueMicrotask(run);
      });
    return {
      exclusive,
      close: () => void (closed = true),
      open: () => {
        closed = false;
        for (const run of waiting.splice(0)) run();
      },
      waiting: () => waiting.length,
      calls: () => calls,
    };
  }

  async function setup(shardCount = 1) {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-coordinator-'));
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
    let now = 1_000_000;
    const store = gate();
    const coordinator = new Coordinator({
      nodeId: 'a',
      db,
      shardCount,
      logger: silentLogger(),
      nodeTimeoutMs: 5_000,
      tickMs: 3_600_000, // the test ticks by hand
      settleMs: 0,
      clock: { now: () => now },
      exclusive: store.exclusive,
      commands: { detach: () => Promise.reject(new Error('unused')), start: () => Promise.resolve() },
    });
    const beat = (nodeId: string): void => void coordinator.heartbeat({ nodeId, url: `http://${nodeId}`, version: 't', startedAt: 0, shards: [] });
    const persisted = (nodeId: string): number => Number(db.prepare('select last_heartbeat_at as t from nodes where id = ?').get([nodeId])?.['t'] ?? 0);
    const events = (): string[] => db.prepare("select kind || ':' || coalesce(node_id, '') as e from cluster_events where kind <> 'takeover' order by id").all().map((r) => String(r['e']));
    return { db, coordinator, store, beat, persisted, events, advance: (ms: number) => (now += ms), now: () => now };
  }

  it('writes nothing while the store is taken, keeps one round waiting, and commits the latest state when it frees', async () => {
    const { db, coordinator, store, beat, persisted, events, advance, now } = await setup();
    coordinator.start();
    store.close();
    beat('a');
    const first = coordinator.tick();
    for (let i = 0; i < 8; i++) {
      advance(250);
      beat('a');
      void coordinator.tick();
    }
    await yieldToLoop();
    expect(store.waiting()).toBe(1);
    expect(persisted('a')).toBe(0);
    expect(events()).toEqual([]);
    expect(readAssignments(db).size).toBe(0);
    store.open();
    await first;
    expect(persisted('a')).toBe(now());
    expect(events()).toEqual(['join:a', 'place:a']);
    expect(readAssignments(db).get(0)).toMatchObject({ nodeId: 'a', epoch: 1 });
    coordinator.stop();
    db.close();
  });

  it('persists heartbeats at most once a second, a newcomer in the next round', async () => {
    const { db, coordinator, store, beat, persisted, advance, now } = await setup();
    coordinator.start();
    beat('a');
    await coordinator.tick();
    expect(persisted('a')).toBe(now());
    const before = store.calls();
    let last = persisted('a');
    let writes = 0;
    for (let i = 0; i < 20; i++) {
      advance(250);
      beat('a');
      await coordinator.tick();
      if (persisted('a') !== last) writes += 1;
      last = persisted('a');
      expect(now() - last).toBeLessThan(1_000);
    }
    expect(writes).toBe(5);
    expect(store.calls() - before).toBe(5); // no round without something to write
    beat('b');
    await coordinator.tick();
    expect(persisted('b')).toBe(now());
    coordinator.stop();
    db.close();
  });

  it('fails over in the round that records the death, after it, and not before the store frees', async () => {
    const { db, coordinator, store, beat, events, advance } = await setup(2);
    coordinator.start();
    beat('a');
    beat('b');
    await coordinator.tick();
    const ownedByB = [...readAssignments(db).values()].filter((r) => r.nodeId === 'b');
    expect(ownedByB).toHaveLength(1);
    store.close();
    for (let i = 0; i < 24; i++) {
      advance(250);
      beat('a');
      void coordinator.tick();
    }
    const round = coordinator.tick();
    await yieldToLoop();
    expect(coordinator.assignments().get(ownedByB[0]!.shardId)?.nodeId).toBe('b');
    expect(events()).toEqual(['join:a', 'join:b', 'place:a', 'place:b']);
    store.open();
    await round;
    expect(events().slice(4)).toEqual(['dead:b', 'failover:a']);
    expect(readAssignments(db).get(ownedByB[0]!.shardId)).toMatchObject({ nodeId: 'a', epoch: ownedByB[0]!.epoch + 1 });
    coordinator.stop();
    db.close();
  });

  it('abandons a waiting round when it stops being the primary', async () => {
    const { db, coordinator, store, beat, events } = await setup();
    coordinator.start();
    store.close();
    beat('a');
    const round = coordinator.tick();
    coordinator.stop();
    store.open();
    await round;
    expect(events()).toEqual([]);
    expect(readAssignments(db).size).toBe(0);
    db.close();
  });
});

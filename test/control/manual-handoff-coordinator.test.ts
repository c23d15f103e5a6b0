import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Coordinator } from '../../src/cluster/coordinator.ts';
import { readAssignments } from '../../src/cluster/cluster-tables.ts';
import type { ResumeInfo } from '../../src/core/resume-info.ts';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { silentLogger } from '../../src/log/create-logger.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { listShardSessions } from '../../src/store/queries.ts';
import { tempDir } from '../helpers/test-host.ts';

const URL_OF = (id: string) => `http://${id}.invalid`;

describe('coordinator: manual handoff (release, claim, timeout)', () => {
  const dirs: string[] = [];
  const open: { db: SqliteDriver; coordinator: Coordinator }[] = [];
  afterEach(() => {
    for (const { db, coordinator } of open.splice(0)) {
      coordinator.stop();
      db.close();
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  async function setup(exclusive?: <T>(write: () => T) => Promise<T>) {
    const dir = tempDir();
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, 'c.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
    let now = 1_000_000;
    const started: { nodeId: string; shardId: number; epoch: number; resume: ResumeInfo | null }[] = [];
    const detached: { nodeId: string; shardId: number; epoch: number }[] = [];
    const coordinator = new Coordinator({
      nodeId: 'node-a',
      db,
      shardCount: 2,
      logger: silentLogger(),
      clock: { now: () => now },
      tickMs: 3_600_000,
      settleMs: 0,
      nodeTimeoutMs: 600_000,
      detachedTimeoutMs: 60_000,
      ...(exclusive ? { exclusive } : {}),
      commands: {
        detach: async (nodeId, shardId, epoch) => {
          detached.push({ nodeId, shardId, epoch });
          return { shardId, shardCount: 2, sessionId: `s${shardId}`, seq: 40 + shardId, resumeGatewayUrl: 'ws://gw.invalid' };
        },
        start: async (nodeId, shardId, epoch, resume) => void started.push({ nodeId, shardId, epoch, resume }),
      },
    });
    open.push({ db, coordinator });
    coordinator.start();
    for (const id of ['node-a', 'node-b']) coordinator.heartbeat({ nodeId: id, url: URL_OF(id), version: 't', startedAt: 0, shards: [] });
    await coordinator.tick();
    return { db, coordinator, started, detached, advance: (ms: number) => void (now += ms) };
  }

  it('releases a shard as detached, keeps it unplaced, and refuses stale claims without changing anything', async () => {
    const { db, coordinator, started, detached } = await setup();
    const owner = coordinator.assignments().get(1)!;
    expect(owner.state).toBe('assigned');

    await expect(coordinator.releaseForManualHandoff(1, { nodeId: owner.nodeId!, epoch: owner.epoch + 5 })).rejects.toThrow(/at epoch/);
    expect(detached).toEqual([]);

    const release = await coordinator.releaseForManualHandoff(1, { nodeId: owner.nodeId!, epoch: owner.epoch });
    expect(release.epoch).toBe(owner.epoch + 1);
    expect(readAssignments(db).get(1)).toMatchObject({ nodeId: null, state: 'detached', epoch: owner.epoch + 1 });
    expect(listShardSessions(db).find((s) => s.shardId === 1)).toMatchObject({ sessionId: 's1', seq: 41 });
    expect(coordinator.fence(1, owner.epoch)).toBe(false);

    const before = started.length;
    await coordinator.tick();
    expect(started.length).toBe(before);

    const info = release.resume;
    const rows = () => JSON.stringify([...readAssignments(db).values(), ...listShardSessions(db)]);
    const snapshot = rows();
    await expect(coordinator.claimResume(1, 'node-b', { ...info, seq: 40 })).rejects.toThrow(/seq 40 is behind the committed seq 41/);
    await expect(coordinator.claimResume(1, 'node-b', { ...info, sessionId: 'other' })).rejects.toThrow(/unknown session other; the committed session is s1/);
    await expect(coordinator.claimResume(1, 'node-z', info)).rejects.toThrow(/unknown to the primary/);
    await expect(coordinator.claimResume(0, 'node-b', { ...info, shardId: 0 })).rejects.toThrow(/not detached/);
    expect(rows()).toBe(snapshot);
    expect(started.length).toBe(before);

    const claimed = await coordinator.claimResume(1, 'node-b', { ...info, seq: 41 });
    expect(claimed).toEqual({ shardId: 1, epoch: owner.epoch + 2, node: 'node-b' });
    expect(started.at(-1)).toEqual({ nodeId: 'node-b', shardId: 1, epoch: owner.epoch + 2, resume: info });
    await expect(coordinator.claimResume(1, 'node-a', info)).rejects.toThrow(/not detached/);
  });

  it('writes handoffs only when the store lets it (exclusive), and of two claims waiting together exactly one wins', async () => {
    // A gate standing in for the funnel's thread: writes wait until it opens.
    let open = (): void => {};
    let gate = Promise.resolve();
    let waiting = 0;
    const exclusive = async <T,>(write: () => T): Promise<T> => {
      waiting += 1;
      await gate;
      waiting -= 1;
      return write();
    };
    const { db, coordinator } = await setup(exclusive);
    const owner = coordinator.assignments().get(1)!;
    gate = new Promise<void>((resolve) => (open = resolve));
    const released = coordinator.releaseForManualHandoff(1, { nodeId: owner.nodeId!, epoch: owner.epoch });
    await vi.waitFor(() => expect(waiting).toBe(1));
    expect(readAssignments(db).get(1)?.state).toBe('assigned'); // nothing written yet
    open();
    const { resume } = await released;
    expect(readAssignments(db).get(1)?.state).toBe('detached');

    gate = new Promise<void>((resolve) => (open = resolve));
    const first = coordinator.claimResume(1, 'node-b', resume);
    const second = coordinator.claimResume(1, 'node-a', resume);
    await vi.waitFor(() => expect(waiting).toBe(2));
    open();
    const outcomes = await Promise.allSettled([first, second]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toMatch(/not detached/);
    expect(readAssignments(db).get(1)).toMatchObject({ nodeId: 'node-b', state: 'assigned', epoch: owner.epoch + 2 });
  });

  it('places a detached shard again from its committed session once the wait is over', async () => {
    const { coordinator, started, advance } = await setup();
    const owner = coordinator.assignments().get(0)!;
    await coordinator.releaseForManualHandoff(0, { nodeId: owner.nodeId!, epoch: owner.epoch });
    advance(59_000);
    await coordinator.tick();
    expect(coordinator.assignments().get(0)?.state).toBe('detached');
    advance(2_000);
    await coordinator.tick();
    const row = coordinator.assignments().get(0)!;
    expect(row).toMatchObject({ state: 'assigned', epoch: owner.epoch + 2 });
    expect(started.at(-1)).toMatchObject({ shardId: 0, nodeId: row.nodeId, resume: { sessionId: 's0', seq: 40 } });
  });
});

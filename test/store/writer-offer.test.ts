import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ForwardingWriter } from '../../src/cluster/forwarding-writer.ts';
import { RoutingWriter, type LocalWriter } from '../../src/cluster/routing-writer.ts';
import type { Mutation, WriteEntry, Writer } from '../../src/core/mutation.ts';
import { SILENT_LOGGER as silentLogger } from '../../src/core/silent-logger.ts';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { nodeTransactionWorkers } from '../../src/runtime/node-transaction-workers.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { listShardSessions } from '../../src/store/queries.ts';
import { WorkerWriteFunnel } from '../../src/store/worker-write-funnel.ts';
import { WriteFunnel } from '../../src/store/write-funnel.ts';

const user = (id: string): Mutation => ({ op: 'upsert', table: 'users', row: { id, username: `u${id}`, globalName: null, bot: false, avatar: null, raw: '{}' } });
const entry = (shardId: number, seq: number, epoch = 1, rows = 1): WriteEntry => ({
  shardId,
  epoch,
  mutations: Array.from({ length: rows }, (_, i) => user(String(shardId * 100_000 + seq * 10 + i))),
  session: { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gw.example', shardCount: 4 },
});

/**
 * offer() is the promise-free path a shard takes per dispatch: it must accept exactly when a
 * resolved enqueue() would, and otherwise change nothing, so enqueue() can wait or refuse.
 * The same walk runs against every Writer that offers.
 */
interface Subject {
  writer: Writer & { offer(entry: WriteEntry): boolean };
  /** Shard 3 is at epoch 2 (epoch 1 is stale), when the writer fences. */
  fences: boolean;
  /** How many entries the writer holds now. */
  queued(): number;
}

describe('Writer.offer()', () => {
  let dir: string;
  let db: SqliteDriver;
  const closers: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-offer-'));
    db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fence = (shardId: number, epoch: number): boolean => (shardId === 3 ? epoch === 2 : true);
  const subjects: Record<string, () => Subject> = {
    WriteFunnel: () => {
      const funnel = new WriteFunnel({ db, flushIntervalMs: 60_000, highWaterRows: 10, fence });
      funnel.start();
      closers.push(() => funnel.close());
      return { writer: funnel, fences: true, queued: () => funnel.stats().queuedEntries };
    },
    WorkerWriteFunnel: () => {
      const funnel = new WorkerWriteFunnel({ databasePath: db.path, workers: nodeTransactionWorkers, flushIntervalMs: 60_000, highWaterRows: 10, fence });
      funnel.start();
      closers.push(() => funnel.close());
      return { writer: funnel, fences: true, queued: () => funnel.stats().queuedEntries };
    },
    ForwardingWriter: () => {
      // No primary is known, so nothing leaves: the queue is all there is to look at.
      const forwarder = new ForwardingWriter({ nodeId: 'n2', primaryUrl: () => null, clusterSecret: 's', logger: silentLogger, onStale: () => {}, flushIntervalMs: 60_000, highWaterRows: 10 });
      closers.push(async () => {
        forwarder.takeAll();
        await forwarder.close();
      });
      return { writer: forwarder, fences: false, queued: () => forwarder.takeAll().length };
    },
  };

  for (const [name, make] of Object.entries(subjects)) {
    it(`${name}: accepts below the high-water mark, declines when full or closed, and then changes nothing`, async () => {
      const s = make();
      expect(s.writer.offer(entry(0, 1, 1, 6))).toBe(true);
      expect(s.writer.offer(entry(1, 1, 1, 6))).toBe(true); // 6 rows queued < 10: accepted, now 12
      expect(s.writer.offer(entry(2, 1))).toBe(false); // full: enqueue() would wait
      if (s.fences) {
        expect(s.queued()).toBe(2);
        await s.writer.flush();
        expect(s.writer.offer(entry(3, 1, 1))).toBe(false); // stale: enqueue() would refuse
        await expect(s.writer.enqueue(entry(3, 1, 1))).rejects.toMatchObject({ code: 'STALE_EPOCH' });
        expect(s.writer.offer(entry(3, 2, 2))).toBe(true);
        await s.writer.flush();
        expect(Object.fromEntries(listShardSessions(db).map((r) => [r.shardId, r.seq]))).toEqual({ 0: 1, 1: 1, 3: 2 });
      } else {
        expect(s.queued()).toBe(2);
      }
      await s.writer.close();
      expect(s.writer.offer(entry(0, 9))).toBe(false);
    });
  }

  for (const [name, make] of Object.entries(subjects)) {
    it(`${name}: enqueue() follows offer()'s rule: at once while below the mark before the entry, held once full`, async () => {
      const s = make();
      const settledNow = async (p: Promise<void>): Promise<boolean> => {
        let settled = false;
        void p.then(() => (settled = true), () => (settled = true));
        await new Promise((resolve) => setImmediate(resolve));
        return settled;
      };
      expect(await settledNow(s.writer.enqueue(entry(0, 1, 1, 6)))).toBe(true);
      expect(await settledNow(s.writer.enqueue(entry(1, 1, 1, 6)))).toBe(true); // 6 < 10 before it: at once, now 12
      const held = s.writer.enqueue(entry(2, 1));
      expect(await settledNow(held)).toBe(false); // 12 >= 10: held
      expect(s.queued()).toBe(3);
      if (s.fences) {
        await s.writer.flush();
        await held;
      }
    });
  }

  it('RoutingWriter offers to the local funnel while primary, to the forwarder otherwise', async () => {
    const forwarder = new ForwardingWriter({ nodeId: 'n1', primaryUrl: () => null, clusterSecret: 's', logger: silentLogger, onStale: () => {}, flushIntervalMs: 60_000 });
    const funnel = new WriteFunnel({ db, flushIntervalMs: 60_000 });
    funnel.start();
    closers.push(() => funnel.close(), async () => {
      forwarder.takeAll();
      await forwarder.close();
    });
    const routing = new RoutingWriter(forwarder);
    expect(routing.offer(entry(0, 1))).toBe(true);
    expect(forwarder.takeAll()).toHaveLength(1);
    routing.useLocal(funnel as LocalWriter);
    expect(routing.offer(entry(0, 2))).toBe(true);
    expect(funnel.stats().queuedEntries).toBe(1);
  });

  it('RoutingWriter.flush() right after losing the role waits for the old funnel\'s entries to cross over, and commits them too', async () => {
    const acknowledged: number[] = [];
    const primary: typeof fetch = async (_url, init) => {
      const body = JSON.parse(String(init?.body)) as { entries: WriteEntry[] };
      for (const e of body.entries) acknowledged.push(e.session!.seq);
      return new Response(JSON.stringify({ stale: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const forwarder = new ForwardingWriter({ nodeId: 'n1', primaryUrl: () => 'http://primary.test', clusterSecret: 's', logger: silentLogger, onStale: () => {}, flushIntervalMs: 60_000, fetch: primary });
    closers.push(() => forwarder.close());
    let drained!: (entries: WriteEntry[]) => void;
    // A thread funnel's drain waits for its batch in flight: the entries arrive later.
    const local: LocalWriter = {
      enqueue: () => Promise.resolve(),
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
      drain: () => new Promise<WriteEntry[]>((resolve) => (drained = resolve)),
    };
    const routing = new RoutingWriter(forwarder);
    routing.useLocal(local);
    routing.useForwarding();
    const flushed = routing.flush();
    drained([entry(0, 7), entry(1, 8)]);
    await flushed;
    expect(acknowledged).toEqual([7, 8]);
  });
});

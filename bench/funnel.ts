/**
 * Write funnel throughput: 16 simulated shards write a realistic mix of dispatches for ~5 s
 * into a temp-file database, through the funnel (one transaction per flush), on the event loop
 * ('inline') and on its transaction thread (the Node default), and, as the peer in the same
 * run, naively (one transaction per event, the same rows).
 *
 *   npx tsx bench/funnel.ts [--seconds 5] [--shards 16]
 *
 * Goal: >= 100 000 committed cache rows/s in <= 20 transactions/s.
 *
 * Then the thread funnel runs twice more while the event loop also writes on its own
 * connection every 20 ms (what the coordinator does), directly and through
 * funnel.exclusive(): how long each such write blocks the event loop, and how long it waits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { appendEvent } from '../src/cluster/cluster-tables.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WriteEntry } from '../src/core/mutation.ts';
import type { SqliteDriver } from '../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../src/runtime/better-sqlite3-driver.ts';
import { dispatchMutations } from '../src/store/dispatch-mutations.ts';
import { runMigrations } from '../src/store/migrate.ts';
import { MutationApplier } from '../src/store/mutation-applier.ts';
import { BESIDE_THREAD_WAL_AUTOCHECKPOINT_BYTES, openDatabase } from '../src/store/open-database.ts';
import { nodeTransactionWorkers } from '../src/runtime/node-transaction-workers.ts';
import { WorkerWriteFunnel } from '../src/store/worker-write-funnel.ts';
import { WriteFunnel } from '../src/store/write-funnel.ts';

const { values: args } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, shards: { type: 'string', default: '16' } } });
const SECONDS = Number(args.seconds);
const SHARDS = Number(args.shards);
/** Events a shard handles per socket read before yielding to the event loop. */
const EVENTS_PER_TICK = 64;
const USERS_PER_GUILD = 5000;

/** A deterministic event stream: 45% presence, 35% member update, 20% message (not cached). */
function makeShardStream(shardId: number) {
  const guildId = String((BigInt(1000 + shardId) << 22n) + BigInt(shardId));
  let n = 0;
  return (): { t: string; d: unknown } => {
    n += 1;
    const userId = String(10_000_000 + shardId * USERS_PER_GUILD + (n * 7919) % USERS_PER_GUILD);
    const kind = n % 20;
    if (kind < 9) {
      return {
        t: 'PRESENCE_UPDATE',
        d: { guild_id: guildId, user: { id: userId }, status: n % 3 === 0 ? 'idle' : 'online', activities: [{ name: 'a game', type: 0, created_at: n }], client_status: { desktop: 'online' } },
      };
    }
    if (kind < 16) {
      return {
        t: 'GUILD_MEMBER_UPDATE',
        d: {
          guild_id: guildId,
          user: { id: userId, username: `user${userId}`, global_name: `User ${n}`, avatar: null, discriminator: '0' },
          nick: n % 5 === 0 ? `nick${n}` : null,
          roles: [String(500 + (n % 7))],
          joined_at: '2024-01-01T00:00:00.000Z',
          avatar: null, banner: null, deaf: false, mute: false, pending: false, flags: 0,
        },
      };
    }
    return { t: 'MESSAGE_CREATE', d: { id: String(n), channel_id: '1', guild_id: guildId, content: 'hello', author: { id: userId } } };
  };
}

function openTemp(walAutocheckpointBytes?: number): { db: SqliteDriver; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-bench-'));
  const db = openDatabase({
    path: join(dir, 'bench.db'),
    driverFactory: betterSqlite3Driver,
    cacheSizeKiB: Number(process.env['CACHE_KIB'] ?? 32_768),
    ...(walAutocheckpointBytes ? { walAutocheckpointBytes } : {}),
  });
  return { db, cleanup: () => (db.close(), rmSync(dir, { recursive: true, force: true })) };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Result {
  rows: number;
  transactions: number;
  events: number;
  seconds: number;
}

/** Main-connection writes during a run: ms each blocked the event loop, and ms from asking to done. */
interface SideWrites {
  blockedMs: number[];
  latencyMs: number[];
}

async function runFunnel(mode: 'inline' | 'thread', side?: 'direct' | 'exclusive'): Promise<Result & { maxBatch: number; avgFlushMs: number; side: SideWrites }> {
  // Beside the thread, the main connection is opened as PrimaryRole opens it.
  const { db, cleanup } = openTemp(mode === 'thread' ? BESIDE_THREAD_WAL_AUTOCHECKPOINT_BYTES : undefined);
  await runMigrations(db);
  const funnel = mode === 'inline' ? new WriteFunnel({ db }) : new WorkerWriteFunnel({ databasePath: db.path, workers: nodeTransactionWorkers });
  funnel.start();
  let events = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  const sideWrites: SideWrites = { blockedMs: [], latencyMs: [] };
  const writer = side
    ? setInterval(() => {
        const asked = performance.now();
        const write = (): void => {
          const t = performance.now();
          appendEvent(db, { at: Date.now(), kind: 'bench' });
          const done = performance.now();
          sideWrites.blockedMs.push(done - t);
          sideWrites.latencyMs.push(done - asked);
        };
        if (side === 'direct') write();
        else void funnel.exclusive(write);
      }, 20)
    : undefined;
  await Promise.all(
    Array.from({ length: SHARDS }, async (_, shardId) => {
      const next = makeShardStream(shardId);
      let seq = 0;
      while (performance.now() < deadline) {
        for (let i = 0; i < EVENTS_PER_TICK; i += 1) {
          seq += 1;
          const event = next();
          const entry: WriteEntry = {
            shardId,
            epoch: 1,
            mutations: dispatchMutations(event, shardId, SHARDS),
            session: { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gateway.example', shardCount: SHARDS },
          };
          events += 1;
          await funnel.enqueue(entry); // back-pressure: a full funnel slows this shard's reading
        }
        await tick();
      }
    }),
  );
  clearInterval(writer);
  await funnel.flush();
  const seconds = (performance.now() - started) / 1000;
  const s = funnel.stats();
  await funnel.close();
  cleanup();
  return { rows: s.committedRows, transactions: s.transactions, events, seconds, maxBatch: s.maxBatchMutations, avgFlushMs: s.totalFlushMs / Math.max(1, s.transactions), side: sideWrites };
}

async function runNaive(): Promise<Result> {
  const { db, cleanup } = openTemp();
  await runMigrations(db);
  const applier = new MutationApplier(db);
  let rows = 0;
  let transactions = 0;
  let events = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: SHARDS }, async (_, shardId) => {
      const next = makeShardStream(shardId);
      let seq = 0;
      while (performance.now() < deadline) {
        for (let i = 0; i < EVENTS_PER_TICK; i += 1) {
          seq += 1;
          const mutations = dispatchMutations(next(), shardId, SHARDS);
          events += 1;
          // The same rows and the same seq bookkeeping, one transaction per event.
          rows += db.transaction(() => {
            const now = Date.now();
            let n = 0;
            for (const m of mutations) n += applier.apply(m, now);
            applier.commitSession(shardId, { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gateway.example', shardCount: SHARDS }, now);
            return n + 1;
          });
          transactions += 1;
        }
        await tick();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  cleanup();
  return { rows, transactions, events, seconds };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const runs = { inline: await runFunnel('inline'), thread: await runFunnel('thread') };
const naive = await runNaive();
const naiveRows = naive.rows / naive.seconds;
console.log(`write funnel bench: ${SHARDS} shards, ${SECONDS} s each, temp-file SQLite (WAL, synchronous=NORMAL), Node ${process.version}`);
for (const [mode, funnel] of Object.entries(runs)) {
  const rows = funnel.rows / funnel.seconds;
  const perSecond = funnel.transactions / funnel.seconds;
  console.log(
    `funnel (${mode}): ${fmt(rows)} rows/s, ${perSecond.toFixed(1)} transactions/s, ${fmt(funnel.events / funnel.seconds)} events/s, ` +
      `max batch ${fmt(funnel.maxBatch)} mutations, avg flush ${funnel.avgFlushMs.toFixed(1)} ms; ${(rows / naiveRows).toFixed(1)}x naive rows/s; ` +
      `goal (>= 100,000 rows/s in <= 20 transactions/s) ${rows >= 100_000 && perSecond <= 20 ? 'met' : 'NOT met'}`,
  );
}
console.log(`naive:  ${fmt(naiveRows)} rows/s, ${fmt(naive.transactions / naive.seconds)} transactions/s, ${fmt(naive.events / naive.seconds)} events/s`);

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};
const sides = { direct: await runFunnel('thread', 'direct'), exclusive: await runFunnel('thread', 'exclusive') };
console.log(`\nmain-connection writes every 20 ms while the thread funnel runs (the coordinator's case):`);
for (const [how, run] of Object.entries(sides)) {
  const { blockedMs, latencyMs } = run.side;
  console.log(
    `  ${how === 'direct' ? 'directly           ' : 'through exclusive()'}: ${blockedMs.length} writes, event loop blocked p50 ${quantile(blockedMs, 0.5).toFixed(1)} / p99 ${quantile(blockedMs, 0.99).toFixed(1)} / max ${Math.max(...blockedMs).toFixed(1)} ms; ` +
      `write done after p50 ${quantile(latencyMs, 0.5).toFixed(1)} / p99 ${quantile(latencyMs, 0.99).toFixed(1)} ms; funnel ${fmt(run.rows / run.seconds)} rows/s`,
  );
}
console.log(`  event loop blocked at p99, directly / through exclusive(): ${(quantile(sides.direct.side.blockedMs, 0.99) / quantile(sides.exclusive.side.blockedMs, 0.99)).toFixed(0)}x`);

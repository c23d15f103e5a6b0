/**
 * The transaction thread's floor for the ingest burst: the batches one shardline burst sent to
 * its transaction thread, replayed alone on this thread into a copy of the database as it stood
 * before the burst, so nothing else competes for the core. What the thread cannot go below
 * without writing less: SQLite's own statements and commits.
 *
 *   CAPTURE=/tmp/ingest-capture PHASES=shardline-json node --expose-gc --import tsx bench/ingest.ts
 *   node --expose-gc --import tsx bench/ingest-floor.ts /tmp/ingest-capture
 *
 * Per event of the burst, each run from a fresh copy:
 *   thread path   packedList + applyBatch + COMMIT, as the thread runs a batch (the structured
 *                 clone that brings it there is not in it)
 *   JS alone      the same over a driver whose statements do nothing: the mapping's own cost
 *   statements    thread path minus JS alone minus COMMIT: SQLite executing the statements
 *   commit        COMMIT: WAL writes, and a checkpoint whenever the WAL passed its mark
 * and the same transactions with the WAL checkpointed only at the end (CHECKPOINT=end), and
 * with every two batches joined into one. CPU is the process's (this thread and V8's helpers);
 * wall time counts only when the machine is otherwise idle. Then a breakdown by statement
 * (timed one by one, so a little slower in total). Ends with one JSON line.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SqliteDriver, SqliteStatement } from '../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../src/runtime/better-sqlite3-driver.ts';
import { applyBatch } from '../src/store/apply-batch.ts';
import { MutationApplier } from '../src/store/mutation-applier.ts';
import { DEFAULT_WAL_AUTOCHECKPOINT_BYTES, openDatabase } from '../src/store/open-database.ts';
import { packedList } from '../src/store/packed-entries.ts';

const env = process.env;
const dir = process.argv[2];
if (!dir) throw new Error('usage: bench/ingest-floor.ts <CAPTURE dir of bench/ingest.ts>');
const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as { phase: string; events: number; batches: number };
const captured = readFileSync(join(dir, 'batches.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as { now: number; fenced: boolean; packed: unknown[] });

interface Run {
  readonly name: string;
  readonly transactions: number;
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly commitMs: number;
  readonly rows: number;
}

/** Joins every `n` consecutive batches into one (entries stay in order). */
function joined(n: number): typeof captured {
  const out: typeof captured = [];
  for (let i = 0; i < captured.length; i += n) {
    const group = captured.slice(i, i + n);
    out.push({ now: group.at(-1)!.now, fenced: group.some((b) => b.fenced), packed: group.flatMap((b) => b.packed) });
  }
  return out;
}

/** Time, calls and changed rows of each statement text (the breakdown run). */
type StatementCosts = Map<string, { calls: number; changed: number; ms: number }>;

/** A driver that times COMMIT apart from the statements before it, and with `costs` each statement. */
function timedDriver(inner: SqliteDriver, commit: { ms: number }, costs?: StatementCosts): SqliteDriver {
  return {
    path: inner.path,
    readonly: inner.readonly,
    exec: (sql) => inner.exec(sql),
    prepare: (sql) => {
      const stmt = inner.prepare(sql);
      if (!costs) return stmt;
      const cost = { calls: 0, changed: 0, ms: 0 };
      costs.set(sql, cost);
      return {
        ...stmt,
        run(params) {
          const t = performance.now();
          const result = stmt.run(params);
          cost.ms += performance.now() - t;
          cost.calls += 1;
          cost.changed += result.changes;
          return result;
        },
        get(params) {
          const t = performance.now();
          const row = stmt.get(params);
          cost.ms += performance.now() - t;
          cost.calls += 1;
          return row;
        },
      };
    },
    transaction<T>(fn: () => T): T {
      inner.exec('BEGIN IMMEDIATE');
      let result: T;
      try {
        result = fn();
      } catch (error) {
        inner.exec('ROLLBACK');
        throw error;
      }
      const t = performance.now();
      inner.exec('COMMIT');
      commit.ms += performance.now() - t;
      return result;
    },
    close: () => inner.close(),
  };
}

/** Statements that do nothing: what is left is the JS of packedList and the applier. */
function nullDriver(): SqliteDriver {
  const stmt: SqliteStatement = {
    readonly: false,
    columns: () => [],
    run: () => ({ changes: 1, lastInsertRowid: 0 }),
    get: () => undefined,
    all: () => [],
    values: () => [],
    iterateValues: () => [][Symbol.iterator](),
  };
  return { path: ':null:', readonly: false, exec: () => {}, prepare: () => stmt, transaction: (fn) => fn(), close: () => {} };
}

function replay(name: string, batches: typeof captured, options: { nullDb?: boolean; checkpointAtEnd?: boolean; costs?: StatementCosts } = {}): Run {
  const work = mkdtempSync(join(tmpdir(), 'shardline-floor-'));
  const path = join(work, 'shardline.db');
  copyFileSync(join(dir!, 'before.db'), path);
  const commit = { ms: 0 };
  const real = options.nullDb
    ? null
    : openDatabase({ path, driverFactory: betterSqlite3Driver, ...(options.checkpointAtEnd ? { walAutocheckpointPages: 1_000_000 } : {}), ...(env['CACHE_KIB'] ? { cacheSizeKiB: Number(env['CACHE_KIB']) } : {}) });
  const db = real ? timedDriver(real, commit, options.costs) : nullDriver();
  const applier = new MutationApplier(db);
  let rows = 0;
  (globalThis as { gc?: () => void }).gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const batch of batches) rows += applyBatch(db, applier, packedList(batch.packed), batch.now, { fenced: batch.fenced }).committedRows;
  if (options.checkpointAtEnd && real) {
    const t = performance.now();
    real.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    commit.ms += performance.now() - t;
  }
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  real?.close();
  rmSync(work, { recursive: true, force: true });
  return { name, transactions: batches.length, wallMs, cpuMs, commitMs: commit.ms, rows };
}

const us = (ms: number): string => ((ms * 1000) / meta.events).toFixed(2);

console.log(`ingest floor: ${meta.events} events of a ${meta.phase} burst, ${captured.length} transactions, replayed alone on one thread (WAL mark ${DEFAULT_WAL_AUTOCHECKPOINT_BYTES / 2 ** 20} MiB)`);
// A warm-up pass first, so no run pays for the JIT or a cold file cache.
replay('warm-up', captured);
const rounds = Number(process.env['ROUNDS'] ?? 3);
const median = (name: string, make: () => Run): Run => {
  const runs = Array.from({ length: rounds }, make).sort((a, b) => a.wallMs - b.wallMs);
  return { ...runs[Math.floor(rounds / 2)]!, name };
};
const thread = median('thread path', () => replay('thread path', captured));
const js = median('JS alone', () => replay('JS alone', captured, { nullDb: true }));
const atEnd = median('checkpoint at the end', () => replay('checkpoint at the end', captured, { checkpointAtEnd: true }));
const twice = median('batches joined by 2', () => replay('batches joined by 2', joined(2)));

console.log('\nrun                      transactions  wall us/ev  CPU us/ev  commit us/ev  rows changed');
for (const r of [thread, js, atEnd, twice]) {
  console.log(`${r.name.padEnd(24)} ${String(r.transactions).padStart(12)}  ${us(r.wallMs).padStart(10)}  ${us(r.cpuMs).padStart(9)}  ${us(r.commitMs).padStart(12)}  ${String(r.rows).padStart(12)}`);
}
const costs: StatementCosts = new Map();
replay('by statement', captured, { costs });
const short = (sql: string): string => sql.replace(/\s+/g, ' ').replace(/\(([^()]{40,})\)/g, '(…)').slice(0, 110);
console.log('\nstatement (one timed run)                                                                                    calls   changed  us/ev');
for (const [sql, c] of [...costs].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14)) {
  console.log(`${short(sql).padEnd(110)} ${String(c.calls).padStart(7)} ${String(c.changed).padStart(9)} ${us(c.ms).padStart(6)}`);
}
const statementsMs = thread.wallMs - js.wallMs - thread.commitMs;
console.log(`\nthread path ${us(thread.wallMs)} us/ev = JS ${us(js.wallMs)} + SQLite statements ${us(statementsMs)} + COMMIT ${us(thread.commitMs)} (wall, alone on a core)`);
console.log(
  JSON.stringify({
    bench: 'ingest-floor',
    events: meta.events,
    transactions: thread.transactions,
    threadPathUsPerEvent: Number(us(thread.wallMs)),
    threadPathCpuUsPerEvent: Number(us(thread.cpuMs)),
    jsUsPerEvent: Number(us(js.wallMs)),
    sqliteStatementsUsPerEvent: Number(us(statementsMs)),
    commitUsPerEvent: Number(us(thread.commitMs)),
    checkpointAtEndUsPerEvent: Number(us(atEnd.wallMs)),
    joinedBy2UsPerEvent: Number(us(twice.wallMs)),
  }),
);

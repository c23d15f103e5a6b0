/**
 * The body of a transaction thread, shared by the Node and Deno entry points: it opens its own
 * writable connection, lazily so an open failure is reported like any failed transaction, and
 * applies each batch it is sent in one transaction. The entry point supplies the SQLite driver
 * (better-sqlite3 on Node, node:sqlite on Deno) and how the thread ends itself.
 */
import { getHeapStatistics } from 'node:v8';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { TransactionBatch, TransactionOutcome, TransactionWorkerOptions } from '../core/transaction-worker.ts';
import { applyBatch, outcomeOf } from '../store/apply-batch.ts';
import { MutationApplier } from '../store/mutation-applier.ts';
import { packedList } from '../store/packed-entries.ts';
import { openDatabase } from '../store/open-database.ts';
import { closeAndEnd, type RunnerOptions, type RunnerPort } from './runner-port.ts';

/** A packed batch may come in parts (thread-transaction-workers.ts): 'part' messages, then 'run' with the last. */
export type RunnerRequest =
  | { readonly type: 'run'; readonly id: number; readonly batch: TransactionBatch }
  | { readonly type: 'part'; readonly id: number; readonly values: readonly unknown[] }
  | { readonly type: 'close' };
export type RunnerReply = { readonly id: number; readonly outcome: TransactionOutcome } | { readonly type: 'heap'; readonly usedBytes: number };

/** How long the thread waits after a transaction before it samples its heap. */
const HEAP_SAMPLE_IDLE_MS = 250;

export function serveTransactions(port: RunnerPort<RunnerRequest, RunnerReply>, options: TransactionWorkerOptions, runner: RunnerOptions): void {
  let db: SqliteDriver | null = null;
  let applier: MutationApplier | null = null;
  let failLeft = options.failNext?.count ?? 0;

  const run = (batch: TransactionBatch): TransactionOutcome =>
    outcomeOf(() => {
      if (failLeft > 0) {
        failLeft -= 1;
        const code = options.failNext!.sqliteCode;
        throw Object.assign(new Error(`injected ${code} (test), ${failLeft} more to come`), { code });
      }
      if (!db || !applier) {
        db = openDatabase({ path: options.databasePath, driverFactory: runner.driverFactory });
        applier = new MutationApplier(db);
      }
      return applyBatch(db, applier, batch.packed ? packedList(batch.packed) : (batch.entries ?? []), batch.now, { fenced: batch.fenced === true });
    });

  // The last batch is garbage by the time the thread idles: sampling then (after a GC when
  // --expose-gc is on, as in bench/) reports what the thread keeps, not what it just handled.
  let heapTimer: ReturnType<typeof setTimeout> | undefined;
  const sampleHeapWhenIdle = (): void => {
    clearTimeout(heapTimer);
    heapTimer = setTimeout(() => {
      (globalThis as { gc?: () => void }).gc?.();
      port.postMessage({ type: 'heap', usedBytes: getHeapStatistics().used_heap_size });
    }, HEAP_SAMPLE_IDLE_MS);
  };

  // Whether the last batch committed: a batch sent after it (afterPrevious) runs only then.
  let previousCommitted = true;
  // Parts of the batch being received (one at a time: messages arrive in order).
  let parts: { id: number; values: unknown[] } | null = null;
  port.on('message', (request) => {
    if (request.type === 'part') {
      if (parts?.id !== request.id) parts = { id: request.id, values: [] };
      for (const value of request.values) parts.values.push(value);
      return;
    }
    if (request.type === 'close') {
      clearTimeout(heapTimer);
      const open = db;
      db = null;
      closeAndEnd(open, runner);
      return;
    }
    let batch = request.batch;
    if (parts?.id === request.id) {
      for (const value of batch.packed ?? []) parts.values.push(value);
      batch = { ...batch, packed: parts.values };
    }
    parts = null;
    const outcome: TransactionOutcome =
      batch.afterPrevious === true && !previousCommitted ? { ok: false, sqliteCode: undefined, message: 'not run: the batch sent before it did not commit', notRun: true } : run(batch);
    previousCommitted = outcome.ok;
    port.postMessage({ id: request.id, outcome });
    sampleHeapWhenIdle();
  });
}

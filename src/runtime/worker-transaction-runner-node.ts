/**
 * The transaction thread (node:worker_threads) behind the worker write funnel. It opens its
 * own writable connection, lazily so an open failure is reported like any failed transaction,
 * and applies each batch it is sent in one transaction.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { TransactionBatch, TransactionOutcome, TransactionWorkerOptions } from '../core/transaction-worker.ts';
import { applyBatch, outcomeOf } from '../store/apply-batch.ts';
import { MutationApplier } from '../store/mutation-applier.ts';
import { openDatabase } from '../store/open-database.ts';
import { betterSqlite3Driver } from './better-sqlite3-driver.ts';

export type RunnerRequest = { readonly type: 'run'; readonly id: number; readonly batch: TransactionBatch } | { readonly type: 'close' };
export type RunnerReply = { readonly id: number; readonly outcome: TransactionOutcome } | { readonly type: 'heap'; readonly usedBytes: number };

/** How long the thread waits after a transaction before it samples its heap. */
const HEAP_SAMPLE_IDLE_MS = 250;

function serve(port: MessagePort, options: TransactionWorkerOptions): void {
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
        db = openDatabase({ path: options.databasePath, driverFactory: betterSqlite3Driver });
        applier = new MutationApplier(db);
      }
      return applyBatch(db, applier, batch.entries, batch.now, { fenced: batch.fenced === true });
    });

  // The last batch is garbage by the time the thread idles: sampling then (after a GC when
  // --expose-gc is on, as in bench/) reports what the thread keeps, not what it just handled.
  let heapTimer: ReturnType<typeof setTimeout> | undefined;
  const sampleHeapWhenIdle = (): void => {
    clearTimeout(heapTimer);
    heapTimer = setTimeout(() => {
      (globalThis as { gc?: () => void }).gc?.();
      port.postMessage({ type: 'heap', usedBytes: getHeapStatistics().used_heap_size } satisfies RunnerReply);
    }, HEAP_SAMPLE_IDLE_MS);
  };

  port.on('message', (request: RunnerRequest) => {
    if (request.type === 'close') {
      clearTimeout(heapTimer);
      try {
        db?.close();
      } finally {
        db = null;
        port.close();
      }
      return;
    }
    port.postMessage({ id: request.id, outcome: run(request.batch) } satisfies RunnerReply);
    sampleHeapWhenIdle();
  });
}

if (parentPort) serve(parentPort, workerData as TransactionWorkerOptions);

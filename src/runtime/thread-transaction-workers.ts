/**
 * A TransactionWorker over a node:worker_threads Worker that runs transaction-runner.ts: the
 * request/reply bookkeeping both runtimes share. Node and Deno differ only in how the thread
 * starts (node-transaction-workers.ts, deno-transaction-workers.ts).
 */
import type { Worker } from 'node:worker_threads';
import type { TransactionOutcome, TransactionWorker, TransactionWorkerFactory, TransactionWorkerOptions } from '../core/transaction-worker.ts';
import { closeWithin } from './close-within.ts';
import type { RunnerReply, RunnerRequest } from './transaction-runner.ts';

/** Gives the thread this long to close its connection before it is terminated. */
const CLOSE_GRACE_MS = 5_000;

/**
 * Values of a packed batch per message (about 150 KB cloned). A batch of 25 000 rows clones to
 * tens of MB in one buffer, which the allocator keeps once freed (its mmap threshold rises to
 * the largest block freed): bench/ingest's RSS was 257-269 MB in one piece and 238-245 MB in
 * parts (three runs each). Parts this small come from the heap and are reused message after message.
 */
const PART_VALUES = 1_536;

export function threadTransactionWorkers(start: (options: TransactionWorkerOptions) => Worker): TransactionWorkerFactory {
  return (options) => attach(start(options));
}

function attach(worker: Worker): TransactionWorker {
  const pending = new Map<number, (outcome: TransactionOutcome) => void>();
  let nextId = 1;
  let exited = false;
  let deathReason = 'the transaction thread exited';
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  const failAll = (message: string): void => {
    for (const resolve of pending.values()) resolve({ ok: false, sqliteCode: undefined, message });
    pending.clear();
  };
  let heapUsedBytes: number | null = null;
  worker.on('message', (reply: RunnerReply) => {
    if ('type' in reply) {
      heapUsedBytes = reply.usedBytes;
      return;
    }
    const resolve = pending.get(reply.id);
    pending.delete(reply.id);
    resolve?.(reply.outcome);
  });
  worker.on('error', (error) => {
    deathReason = `the transaction thread failed: ${error.message}`;
  });
  worker.once('exit', (code) => {
    exited = true;
    failAll(`${deathReason} (exit code ${code})`);
  });

  return {
    get running() {
      return !exited;
    },
    get heapUsedBytes() {
      return heapUsedBytes;
    },
    run(batch) {
      if (exited) return Promise.resolve({ ok: false, sqliteCode: undefined, message: deathReason });
      const id = nextId++;
      return new Promise<TransactionOutcome>((resolve) => {
        pending.set(id, resolve);
        const packed = batch.packed;
        if (!packed || packed.length <= PART_VALUES) {
          worker.postMessage({ type: 'run', id, batch } satisfies RunnerRequest);
          return;
        }
        // The thread joins the parts before it runs the batch; the last one comes with the batch.
        let from = 0;
        for (; from + PART_VALUES < packed.length; from += PART_VALUES) worker.postMessage({ type: 'part', id, values: packed.slice(from, from + PART_VALUES) } satisfies RunnerRequest);
        worker.postMessage({ type: 'run', id, batch: { ...batch, packed: packed.slice(from) } } satisfies RunnerRequest);
      });
    },
    async close() {
      if (exited) return;
      worker.postMessage({ type: 'close' } satisfies RunnerRequest);
      await closeWithin(exit, CLOSE_GRACE_MS, () => void worker.terminate());
    },
  };
}

/** Starts transaction threads on Deno (the TransactionWorkerFactory of the Deno runtime). */
import { Worker } from 'node:worker_threads';
import type { TransactionWorkerFactory } from '../core/transaction-worker.ts';
import { threadTransactionWorkers } from './thread-transaction-workers.ts';

// Deno runs the TypeScript entry as it is; its node:worker_threads Worker is a web worker with
// Node's messaging API, and node:sqlite works inside it.
export const denoTransactionWorkers: TransactionWorkerFactory = threadTransactionWorkers(
  (options) => new Worker(new URL('./worker-transaction-runner-deno.ts', import.meta.url), { workerData: options }),
);

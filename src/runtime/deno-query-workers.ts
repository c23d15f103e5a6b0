/** Starts query threads on Deno (the QueryWorkerFactory of the Deno runtime). */
import { Worker } from 'node:worker_threads';
import type { QueryWorkerFactory } from '../core/query-worker.ts';
import { threadQueryWorkers } from './thread-query-workers.ts';

// As for transaction threads: Deno runs the TypeScript entry as it is, with node:sqlite inside.
export const denoQueryWorkers: QueryWorkerFactory = threadQueryWorkers(
  (options) => new Worker(new URL('./worker-query-runner-deno.ts', import.meta.url), { workerData: options }),
);

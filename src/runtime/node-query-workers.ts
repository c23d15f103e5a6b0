/** Starts query threads on Node (the QueryWorkerFactory of the Node runtime). */
import type { QueryWorkerFactory } from '../core/query-worker.ts';
import { startNodeWorker } from './start-node-worker.ts';
import { threadQueryWorkers } from './thread-query-workers.ts';

export const nodeQueryWorkers: QueryWorkerFactory = threadQueryWorkers((options) => startNodeWorker('worker-query-runner-node', options), { exitWaitsForStep: true });

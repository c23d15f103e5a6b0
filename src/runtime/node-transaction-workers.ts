/** Starts transaction threads on Node (the TransactionWorkerFactory of the Node runtime). */
import type { TransactionWorkerFactory } from '../core/transaction-worker.ts';
import { startNodeWorker } from './start-node-worker.ts';
import { threadTransactionWorkers } from './thread-transaction-workers.ts';

export const nodeTransactionWorkers: TransactionWorkerFactory = threadTransactionWorkers((options) => startNodeWorker('worker-transaction-runner-node', options));

/**
 * The TransactionWorker contract on Deno: its node:worker_threads thread with node:sqlite.
 *   npx deno test -A test/store/transaction-worker.deno.ts
 */
import { denoTransactionWorkers } from '../../src/runtime/deno-transaction-workers.ts';
import { nodeSqliteDriver } from '../../src/runtime/node-sqlite-driver.ts';
import { transactionWorkerContract } from './transaction-worker.contract.ts';

declare const Deno: { test(name: string, fn: () => Promise<void>): void };

for (const c of transactionWorkerContract(denoTransactionWorkers, nodeSqliteDriver)) Deno.test(`Deno thread: ${c.name}`, c.run);

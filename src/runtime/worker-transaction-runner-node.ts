/** The transaction thread's entry point on Node: better-sqlite3 (see transaction-runner.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import type { TransactionWorkerOptions } from '../core/transaction-worker.ts';
import { betterSqlite3Driver } from './better-sqlite3-driver.ts';
import { serveTransactions } from './transaction-runner.ts';

if (parentPort) {
  const port = parentPort;
  serveTransactions(port, workerData as TransactionWorkerOptions, { driverFactory: betterSqlite3Driver, end: () => port.close() });
}

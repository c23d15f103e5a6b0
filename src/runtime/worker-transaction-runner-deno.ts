/**
 * The transaction thread's entry point on Deno: node:sqlite, since Deno cannot load
 * better-sqlite3 (see transaction-runner.ts). Deno's parentPort has no close(); the worker
 * ends by closing its own global scope, as a web worker does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TransactionWorkerOptions } from '../core/transaction-worker.ts';
import { nodeSqliteDriver } from './node-sqlite-driver.ts';
import { serveTransactions } from './transaction-runner.ts';

if (parentPort) {
  serveTransactions(parentPort, workerData as TransactionWorkerOptions, { driverFactory: nodeSqliteDriver, end: () => (globalThis as { close?: () => void }).close?.() });
}

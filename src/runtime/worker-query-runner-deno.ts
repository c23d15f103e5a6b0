/**
 * The query thread's entry point on Deno: node:sqlite (see query-runner.ts). Deno's parentPort
 * has no close(); the worker ends by closing its own global scope, as a web worker does.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { QueryWorkerOptions } from '../core/query-worker.ts';
import { nodeSqliteDriver } from './node-sqlite-driver.ts';
import { serveQueries } from './query-runner.ts';

if (parentPort) {
  serveQueries(parentPort, workerData as QueryWorkerOptions, { driverFactory: nodeSqliteDriver, end: () => (globalThis as { close?: () => void }).close?.() });
}

/** The query thread's entry point on Node: better-sqlite3 (see query-runner.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import type { QueryWorkerOptions } from '../core/query-worker.ts';
import { betterSqlite3Driver } from './better-sqlite3-driver.ts';
import { serveQueries } from './query-runner.ts';

if (parentPort) {
  const port = parentPort;
  serveQueries(port, workerData as QueryWorkerOptions, { driverFactory: betterSqlite3Driver, end: () => port.close() });
}

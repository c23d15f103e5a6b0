/**
 * The QueryWorker contract on Deno: its node:worker_threads thread with node:sqlite.
 *   npx deno test -A test/store/query-worker.deno.ts
 */
import { denoQueryWorkers } from '../../src/runtime/deno-query-workers.ts';
import { nodeSqliteDriver } from '../../src/runtime/node-sqlite-driver.ts';
import { queryWorkerContract } from './query-worker.contract.ts';

declare const Deno: { test(name: string, fn: () => Promise<void>): void };

for (const c of queryWorkerContract(denoQueryWorkers, nodeSqliteDriver, { stopsMidStep: false })) Deno.test(`Deno thread: ${c.name}`, c.run);

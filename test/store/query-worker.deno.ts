/**
 * The QueryWorker contract on Deno: its query process with node:sqlite.
 *   npx deno test -A test/store/query-worker.deno.ts
 */
import { denoQueryWorkers } from '../../src/runtime/deno-query-workers.ts';
import { nodeSqliteDriver } from '../../src/runtime/node-sqlite-driver.ts';
import { queryWorkerContract } from './query-worker.contract.ts';

declare const Deno: { test(name: string, fn: () => Promise<void>): void };

for (const c of queryWorkerContract(denoQueryWorkers, nodeSqliteDriver)) Deno.test(`Deno query process: ${c.name}`, c.run);

import { describe, it } from 'vitest';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { nodeQueryWorkers } from '../../src/runtime/node-query-workers.ts';
import { queryWorkerContract } from './query-worker.contract.ts';

describe('QueryWorker contract: Node query process (better-sqlite3)', () => {
  for (const c of queryWorkerContract(nodeQueryWorkers, betterSqlite3Driver)) it(c.name, c.run, 30_000);
});

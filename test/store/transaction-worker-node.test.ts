import { describe, it } from 'vitest';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { nodeTransactionWorkers } from '../../src/runtime/node-transaction-workers.ts';
import { transactionWorkerContract } from './transaction-worker.contract.ts';

describe('TransactionWorker contract: Node thread (better-sqlite3)', () => {
  for (const c of transactionWorkerContract(nodeTransactionWorkers, betterSqlite3Driver)) it(c.name, c.run, 30_000);
});

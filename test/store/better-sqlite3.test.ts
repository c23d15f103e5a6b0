import { describe, it } from 'vitest';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { storeContract } from './driver.contract.ts';

describe('store contract on better-sqlite3', () => {
  for (const c of storeContract(betterSqlite3Driver)) it(c.name, c.run);
});

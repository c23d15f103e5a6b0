/**
 * The store contract on node:sqlite, for Deno (Node 20 has no node:sqlite, so vitest cannot run it):
 *   npx deno test -A test/store/node-sqlite.deno.ts
 */
import { nodeSqliteDriver } from '../../src/runtime/node-sqlite-driver.ts';
import { storeContract } from './driver.contract.ts';

declare const Deno: { test(name: string, fn: () => Promise<void>): void };

for (const c of storeContract(nodeSqliteDriver)) Deno.test(`node:sqlite: ${c.name}`, c.run);

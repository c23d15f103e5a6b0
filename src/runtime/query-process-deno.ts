/** The query process's entry point on Deno: node:sqlite (see query-process.ts). */
import { nodeSqliteDriver } from './node-sqlite-driver.ts';
import { serveQueryProcess } from './query-process.ts';

serveQueryProcess(nodeSqliteDriver);

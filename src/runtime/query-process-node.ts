/** The query process's entry point on Node: better-sqlite3 (see query-process.ts). */
import { betterSqlite3Driver } from './better-sqlite3-driver.ts';
import { serveQueryProcess } from './query-process.ts';

serveQueryProcess(betterSqlite3Driver);

import { existsSync } from 'node:fs';
import { sleep } from '../core/abort.ts';
import type { SqliteDriver, SqliteDriverFactory } from '../core/sqlite.ts';
import { waitForSchema } from '../store/migrate.ts';
import { openDatabase } from '../store/open-database.ts';

/**
 * Opens this node's read-only connection. On a LiteFS replica the database file appears
 * only once the primary's first transaction has replicated, and the schema after its
 * migrations: both are waited for, never created here (contract 2).
 */
export async function openReadDatabase(path: string, driverFactory: SqliteDriverFactory, signal: AbortSignal): Promise<SqliteDriver> {
  while (!existsSync(path)) await sleep(50, signal);
  let db: SqliteDriver | null = null;
  for (let attempt = 0; db === null; attempt++) {
    try {
      db = openDatabase({ path, readonly: true, driverFactory });
    } catch (error) {
      if (attempt >= 100) throw error;
      await sleep(50, signal);
    }
  }
  try {
    await waitForSchema(db, { signal, pollMs: 50 });
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

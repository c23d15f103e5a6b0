/**
 * drizzle for users' own queries, over the SQLite port. We use drizzle's `sqlite-proxy`
 * driver rather than its better-sqlite3 driver: drizzle ships no `node:sqlite` driver, and a
 * proxy over our port gives the same async API (`await db.select()...`) on Node and on Deno,
 * so bot code is written once. The cost is one small callback per query; the write funnel
 * does not go through drizzle at all.
 */
import { drizzle } from 'drizzle-orm/sqlite-proxy';
import type { SqliteRemoteDatabase } from 'drizzle-orm/sqlite-proxy';
import type { SqliteDriver } from '../core/sqlite.ts';
import * as schema from './schema.ts';

export type ShardlineDrizzle = SqliteRemoteDatabase<typeof schema>;

export function createDrizzle(db: SqliteDriver): ShardlineDrizzle {
  return drizzle(
    async (sql, params, method) => {
      const stmt = db.prepare(sql);
      if (method === 'run') {
        stmt.run(params);
        return { rows: [] };
      }
      const rows = stmt.values(params);
      // For 'get' drizzle expects the single row itself (undefined when there is none).
      return { rows: method === 'get' ? (rows[0] as unknown as unknown[]) : rows };
    },
    { schema },
  );
}

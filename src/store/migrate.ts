import { sleep } from '../core/abort.ts';
import { ShardlineError } from '../core/errors.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { loadMigrations } from './migration-files.ts';
import type { Migration } from './migration-files.ts';

/** drizzle's own bookkeeping table, in drizzle's exact shape, so drizzle-kit tooling agrees with us. */
const MIGRATIONS_TABLE = '__drizzle_migrations';
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "${MIGRATIONS_TABLE}" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`;

export interface MigrationSourceOptions {
  /** Already loaded migrations (tests, bundles); otherwise read from `folder`. */
  readonly migrations?: readonly Migration[];
  /** Overrides the package's `migrations/` folder. */
  readonly folder?: string | URL;
}

async function resolve(options: MigrationSourceOptions): Promise<readonly Migration[]> {
  return options.migrations ?? (await loadMigrations(options.folder));
}

/**
 * Applies the migrations the database lacks, each in its own transaction, on the primary.
 * Safe to run again: a migration whose `created_at` is already recorded is skipped.
 */
export async function runMigrations(db: SqliteDriver, options: MigrationSourceOptions = {}): Promise<{ applied: string[] }> {
  if (db.readonly) {
    throw new ShardlineError('NOT_PRIMARY', `Cannot migrate ${db.path}: the connection is read-only (replicas wait for the schema instead)`);
  }
  const migrations = await resolve(options);
  const applied: string[] = [];
  try {
    db.exec(CREATE_TABLE);
    for (const migration of migrations) {
      const done = db.transaction(() => {
        // Re-read inside the write lock so two callers cannot both apply the same migration.
        const last = db.prepare(`SELECT created_at FROM "${MIGRATIONS_TABLE}" ORDER BY created_at DESC LIMIT 1`).values()[0];
        if (last !== undefined && Number(last[0]) >= migration.folderMillis) return false;
        for (const statement of migration.statements) {
          if (statement.trim() !== '') db.exec(statement);
        }
        db.prepare(`INSERT INTO "${MIGRATIONS_TABLE}" ("hash", "created_at") VALUES (?, ?)`).run([migration.hash, migration.folderMillis]);
        return true;
      });
      if (done) applied.push(migration.tag);
    }
  } catch (error) {
    if (error instanceof ShardlineError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ShardlineError('STORE_UNAVAILABLE', `Cannot migrate ${db.path} (applied so far: ${applied.join(', ') || 'none'}): ${reason}`, { cause: error });
  }
  return { applied };
}

/** True once the newest migration is recorded: reads only, so it works on a replica. */
export function hasSchema(db: SqliteDriver, migrations: readonly Migration[]): boolean {
  const latest = migrations[migrations.length - 1];
  if (!latest) return true;
  try {
    return db.prepare(`SELECT 1 FROM "${MIGRATIONS_TABLE}" WHERE hash = ? LIMIT 1`).values([latest.hash]).length > 0;
  } catch {
    // No bookkeeping table yet (or an empty file): the primary has not migrated or not replicated.
    return false;
  }
}

export interface WaitForSchemaOptions extends MigrationSourceOptions {
  readonly signal?: AbortSignal;
  readonly pollMs?: number;
}

/** On a replica: waits, writing nothing, until the primary's migrations have replicated here. */
export async function waitForSchema(db: SqliteDriver, options: WaitForSchemaOptions = {}): Promise<void> {
  const migrations = await resolve(options);
  const pollMs = options.pollMs ?? 250;
  while (!hasSchema(db, migrations)) {
    await sleep(pollMs, options.signal);
  }
}

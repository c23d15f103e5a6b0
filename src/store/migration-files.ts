import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { ShardlineError } from '../core/errors.ts';

/** One drizzle-kit migration, as drizzle's own migrator reads it. */
export interface Migration {
  readonly tag: string;
  /** The journal's `when`; drizzle stores it as `created_at`. */
  readonly folderMillis: number;
  /** sha256 of the SQL file, hex: drizzle's `hash` column. */
  readonly hash: string;
  /** The file split on drizzle-kit's statement breakpoints. */
  readonly statements: readonly string[];
}

/**
 * The `migrations/` folder shipped with the package, found from this module's location (not
 * from the working directory): src/store -> ../../migrations, and the same from dist/store.
 */
export const DEFAULT_MIGRATIONS_FOLDER = new URL('../../migrations/', import.meta.url);

interface Journal {
  entries: { idx: number; when: number; tag: string; breakpoints: boolean }[];
}

export async function loadMigrations(folder: string | URL = DEFAULT_MIGRATIONS_FOLDER): Promise<Migration[]> {
  const base = typeof folder === 'string' ? pathToFileURL(folder.endsWith('/') ? folder : `${folder}/`) : folder;
  let journal: Journal;
  try {
    journal = JSON.parse(await readFile(new URL('meta/_journal.json', base), 'utf8')) as Journal;
  } catch (error) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot read migrations journal in ${base.pathname}: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(journal.entries)) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot read migrations journal in ${base.pathname}: it has no "entries" array`);
  }
  const migrations: Migration[] = [];
  for (const entry of [...journal.entries].sort((a, b) => a.idx - b.idx)) {
    let text: string;
    try {
      text = await readFile(new URL(`${entry.tag}.sql`, base), 'utf8');
    } catch (error) {
      throw new ShardlineError('INVALID_CONFIG', `Cannot read migration ${entry.tag}.sql in ${base.pathname}: ${(error as Error).message}`, { cause: error });
    }
    migrations.push({
      tag: entry.tag,
      folderMillis: entry.when,
      hash: await sha256Hex(text),
      statements: entry.breakpoints ? text.split('--> statement-breakpoint') : [text],
    });
  }
  return migrations;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

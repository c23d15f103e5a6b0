import { ShardlineError } from '../core/errors.ts';
import type { SqliteDriver, SqliteDriverFactory } from '../core/sqlite.ts';

export interface OpenDatabaseOptions {
  readonly path: string;
  /** A LiteFS replica, or the SQL query API's connection: no pragma that writes is attempted. */
  readonly readonly?: boolean;
  readonly driverFactory: SqliteDriverFactory;
  /** At least 5000: LiteFS holds SQLite's locks while it applies a replicated transaction. */
  readonly busyTimeoutMs?: number;
  /**
   * Page cache of this connection in KiB (default 32 768). SQLite's 2 MiB default makes the
   * funnel's upserts miss on every member table page once the cache outgrows it; mmap (the
   * usual cure) is off on LiteFS.
   */
  readonly cacheSizeKiB?: number;
  /**
   * WAL size after which a commit also checkpoints (writable opens; default 40 MiB), turned
   * into pages of the file's page size. SQLite's 1000 pages makes the funnel checkpoint every
   * few flushes, re-copying the same hot pages into the database file each time; contract 2
   * allows any WAL checkpointing.
   */
  readonly walAutocheckpointBytes?: number;
  /** The same mark in pages, when a caller wants an exact count (takes precedence). */
  readonly walAutocheckpointPages?: number;
  /**
   * Page size of a database this open creates (default 16 KiB; an existing file keeps its own).
   * The write funnel dirties pages at random over the cache tables, and each page it writes is
   * one WAL frame: two writes, each a round trip to LiteFS on its FUSE mount. Bigger pages hold
   * more of the rows one transaction touches: the ingest burst of bench/ingest.ts made 224k
   * write calls at 4 KiB, 104k at 8 KiB and 59k at 16 KiB (for 416, 483 and 518 MB), and on a
   * LiteFS mount a transaction of 3,200 rows took 263-271, 181-204 and 125-168 ms
   * (bench/README.md, "page size"). 32 KiB wrote fewer pages still but no faster there.
   */
  readonly pageSizeBytes?: number;
}

export interface DatabasePragmas {
  readonly journalMode: string;
  readonly busyTimeoutMs: number;
  readonly mmapSize: number;
  readonly lockingMode: string;
  readonly synchronous: number;
  readonly foreignKeys: boolean;
}

const MIN_BUSY_TIMEOUT_MS = 5000;
export const DEFAULT_WAL_AUTOCHECKPOINT_BYTES = 40 * 1024 * 1024;
export const DEFAULT_PAGE_SIZE_BYTES = 16_384;

/**
 * For a connection beside the funnel's transaction thread. A checkpoint runs on whichever
 * connection commits when the WAL passes its mark, and it copies pages and fsyncs with that
 * connection's thread blocked; at the same mark, the event loop's small writes met it often
 * (bench/funnel: p99 2-3 ms, once 61 ms). Twice the thread's mark leaves checkpoints to the
 * thread while it commits, and still bounds the WAL when it sits idle.
 */
export const BESIDE_THREAD_WAL_AUTOCHECKPOINT_BYTES = 2 * DEFAULT_WAL_AUTOCHECKPOINT_BYTES;

/** The autocheckpoint mark in pages of this connection's file. */
export function walAutocheckpointPagesFor(db: SqliteDriver, bytes: number): number {
  const pageSize = Number(db.prepare('PRAGMA page_size').values()[0]?.[0] ?? 4096);
  return Math.max(1, Math.ceil(bytes / pageSize));
}

/**
 * Opens a connection with the settings LiteFS needs (contract 2): WAL, a busy timeout of at
 * least 5 s, no mmap, normal locking. A writable open sets them; a read-only open only sets
 * the per-connection ones and checks the rest, because a replica cannot change journal mode.
 */
export function openDatabase(options: OpenDatabaseOptions): SqliteDriver {
  const readonly = options.readonly ?? false;
  const busyTimeoutMs = options.busyTimeoutMs ?? MIN_BUSY_TIMEOUT_MS;
  const walAutocheckpointBytes = options.walAutocheckpointBytes ?? DEFAULT_WAL_AUTOCHECKPOINT_BYTES;
  const pageSize = options.pageSizeBytes ?? DEFAULT_PAGE_SIZE_BYTES;
  if (!Number.isInteger(pageSize) || pageSize < 512 || pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot open ${options.path}: page size must be a power of two from 512 to 65536 bytes, got ${pageSize}`);
  }
  const explicitPages = options.walAutocheckpointPages;
  if (explicitPages !== undefined && (!Number.isInteger(explicitPages) || explicitPages < 1)) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot open ${options.path}: WAL autocheckpoint must be a positive integer of pages, got ${explicitPages}`);
  }
  if (!Number.isInteger(walAutocheckpointBytes) || walAutocheckpointBytes < 1) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot open ${options.path}: WAL autocheckpoint must be a positive integer of bytes, got ${walAutocheckpointBytes}`);
  }
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < MIN_BUSY_TIMEOUT_MS) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot open ${options.path}: busy timeout must be an integer >= ${MIN_BUSY_TIMEOUT_MS} ms, got ${busyTimeoutMs}`);
  }
  let driver: SqliteDriver;
  try {
    driver = options.driverFactory({ path: options.path, readonly, busyTimeoutMs });
  } catch (error) {
    throw new ShardlineError('STORE_UNAVAILABLE', `Cannot open ${readonly ? 'read-only ' : ''}database ${options.path}: ${describe(error)}`, { cause: error });
  }
  try {
    // Connection-local settings: legal on a read-only connection too.
    driver.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    driver.exec('PRAGMA mmap_size = 0');
    driver.exec('PRAGMA foreign_keys = ON');
    driver.exec('PRAGMA synchronous = NORMAL');
    driver.exec(`PRAGMA cache_size = -${Math.max(2048, Math.floor(options.cacheSizeKiB ?? 32_768))}`);
    if (!readonly) {
      // Only a file with no page yet takes a page size; WAL mode would write the first one.
      if (Number(driver.prepare('PRAGMA page_count').values()[0]?.[0] ?? 0) === 0) driver.exec(`PRAGMA page_size = ${pageSize}`);
      const mode = String(driver.prepare('PRAGMA journal_mode = WAL').get()?.['journal_mode'] ?? '');
      if (mode.toLowerCase() !== 'wal') {
        throw new ShardlineError('STORE_UNAVAILABLE', `Cannot open ${options.path}: journal_mode stayed "${mode}" after asking for WAL`);
      }
      driver.exec(`PRAGMA wal_autocheckpoint = ${explicitPages ?? walAutocheckpointPagesFor(driver, walAutocheckpointBytes)}`);
    }
    verifyPragmas(options.path, readPragmas(driver), busyTimeoutMs);
    return driver;
  } catch (error) {
    driver.close();
    if (error instanceof ShardlineError) throw error;
    throw new ShardlineError('STORE_UNAVAILABLE', `Cannot configure database ${options.path}: ${describe(error)}`, { cause: error });
  }
}

export function readPragmas(driver: SqliteDriver): DatabasePragmas {
  const one = (name: string): unknown => {
    const row = driver.prepare(`PRAGMA ${name}`).values()[0];
    return row?.[0];
  };
  return {
    journalMode: String(one('journal_mode')).toLowerCase(),
    busyTimeoutMs: Number(one('busy_timeout')),
    mmapSize: Number(one('mmap_size') ?? 0),
    lockingMode: String(one('locking_mode')).toLowerCase(),
    synchronous: Number(one('synchronous')),
    foreignKeys: Number(one('foreign_keys')) === 1,
  };
}

function verifyPragmas(path: string, p: DatabasePragmas, busyTimeoutMs: number): void {
  const problems: string[] = [];
  // A fresh, still-empty replica file reports "delete" until the primary's pages arrive; that is fine.
  if (p.journalMode === 'memory' || p.journalMode === 'off') problems.push(`journal_mode is ${p.journalMode} (LiteFS would replicate nothing)`);
  if (p.busyTimeoutMs < busyTimeoutMs) problems.push(`busy_timeout is ${p.busyTimeoutMs} ms, below ${busyTimeoutMs}`);
  if (p.mmapSize !== 0) problems.push(`mmap_size is ${p.mmapSize}, must be 0 on FUSE`);
  if (p.lockingMode === 'exclusive') problems.push('locking_mode is EXCLUSIVE, which breaks LiteFS WAL replication');
  if (problems.length > 0) {
    throw new ShardlineError('STORE_UNAVAILABLE', `Cannot use database ${path}: ${problems.join('; ')}`, { details: { problems } });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

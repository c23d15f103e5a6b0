/**
 * The one SQLite port shardline uses. It is synchronous on purpose: both drivers we ship
 * (better-sqlite3 on Node, `node:sqlite` on Deno) are synchronous, and the write funnel
 * relies on a transaction running to completion without yielding to the event loop.
 * Adapters live in `src/runtime/`; nothing here touches a driver.
 */

export type SqlValue = string | number | bigint | null | Uint8Array;

/** Positional parameters, or one object of named parameters (`:name`, `@name`, `$name`). */
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>;

export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

export interface SqliteStatement {
  /** The statement's own verdict on whether it writes, when the driver can tell; `undefined` otherwise. */
  readonly readonly: boolean | undefined;
  /** Column names of the result set, in order (duplicates kept). Empty for statements that return nothing. */
  columns(): string[];
  run(params?: SqlParams): RunResult;
  get(params?: SqlParams): Record<string, unknown> | undefined;
  all(params?: SqlParams): Record<string, unknown>[];
  /** Rows as arrays in column order: no loss when two columns share a name. */
  values(params?: SqlParams): unknown[][];
  /** Lazily steps through the rows as arrays; stopping early (break/return) releases the statement. */
  iterateValues(params?: SqlParams): IterableIterator<unknown[]>;
}

export interface SqliteDriver {
  readonly path: string;
  readonly readonly: boolean;
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  /**
   * Runs `fn` inside BEGIN IMMEDIATE ... COMMIT, rolling back if it throws. Nested calls
   * become savepoints, so an inner failure can be caught without losing the outer work.
   */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export interface DriverOpenOptions {
  readonly path: string;
  readonly readonly: boolean;
  /** Milliseconds SQLite waits on a locked database before failing with SQLITE_BUSY. */
  readonly busyTimeoutMs: number;
}

/** How a runtime opens a connection. Each adapter in `src/runtime/` exports one. */
export type SqliteDriverFactory = (options: DriverOpenOptions) => SqliteDriver;

/**
 * SQLite's primary result code name (`SQLITE_READONLY`, `SQLITE_FULL`...) for an error a
 * driver threw, or undefined when the error did not come from SQLite. Adapters make sure
 * their errors carry it in `sqliteCode` or in `code`.
 */
export function sqliteErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { sqliteCode?: unknown; code?: unknown };
  const raw = typeof e.sqliteCode === 'string' ? e.sqliteCode : typeof e.code === 'string' ? e.code : undefined;
  if (raw === undefined || !raw.startsWith('SQLITE_')) return undefined;
  // Extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED) reduce to their primary code.
  const match = /^SQLITE_[A-Z]+/.exec(raw);
  return match ? match[0] : raw;
}

/**
 * Errors that say the database cannot take writes right now (a LiteFS replica, a full disk,
 * a lock held too long) rather than that the statement itself is wrong. Retrying later may work.
 */
const UNAVAILABLE_CODES = new Set([
  'SQLITE_READONLY',
  'SQLITE_FULL',
  'SQLITE_IOERR',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
  'SQLITE_NOMEM',
  'SQLITE_PERM',
  'SQLITE_AUTH',
]);

export function isUnavailableError(error: unknown): boolean {
  const code = sqliteErrorCode(error);
  return code !== undefined && UNAVAILABLE_CODES.has(code);
}

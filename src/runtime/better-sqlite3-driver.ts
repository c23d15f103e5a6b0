import Database from 'better-sqlite3';
import type { DriverOpenOptions, RunResult, SqlParams, SqliteDriver, SqliteDriverFactory, SqliteStatement } from '../core/sqlite.ts';

/** The Node adapter of the SQLite port (better-sqlite3 does not load on Deno: it is not a Node-API addon). */
export const betterSqlite3Driver: SqliteDriverFactory = (options: DriverOpenOptions): SqliteDriver => {
  const db = new Database(options.path, {
    readonly: options.readonly,
    fileMustExist: options.readonly,
    timeout: options.busyTimeoutMs,
  });
  return {
    path: options.path,
    readonly: options.readonly,
    exec: (sql) => void db.exec(sql),
    prepare: (sql) => wrapStatement(db, sql),
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
};

type Bound = unknown[];

function args(params: SqlParams | undefined): Bound {
  if (params === undefined) return [];
  return Array.isArray(params) ? (params as unknown[]) : [params];
}

function wrapStatement(db: Database.Database, sql: string): SqliteStatement {
  const stmt = db.prepare(sql);
  // Array rows need raw mode, which is a property of the statement: keep a second copy so a
  // caller mixing object and array reads never sees the other's mode.
  let rawStmt: Database.Statement | undefined;
  const raw = (): Database.Statement => (rawStmt ??= db.prepare(sql).raw(true));
  return {
    readonly: stmt.readonly,
    columns: () => (stmt.reader ? stmt.columns().map((c) => c.name) : []),
    run: (params) => stmt.run(...args(params)) as RunResult,
    get: (params) => (stmt.reader ? (stmt.get(...args(params)) as Record<string, unknown> | undefined) : (stmt.run(...args(params)), undefined)),
    all: (params) => (stmt.reader ? (stmt.all(...args(params)) as Record<string, unknown>[]) : (stmt.run(...args(params)), [])),
    values: (params) => (stmt.reader ? (raw().all(...args(params)) as unknown[][]) : (stmt.run(...args(params)), [])),
    iterateValues: (params) => {
      if (!stmt.reader) {
        stmt.run(...args(params));
        return [][Symbol.iterator]();
      }
      return raw().iterate(...args(params)) as IterableIterator<unknown[]>;
    },
  };
}

import { DatabaseSync } from 'node:sqlite';
import type { StatementSync } from 'node:sqlite';
import type { DriverOpenOptions, RunResult, SqlParams, SqliteDriver, SqliteDriverFactory, SqliteStatement } from '../core/sqlite.ts';

/**
 * The `node:sqlite` adapter of the SQLite port, for Deno 2 (and Node >= 22.5). Node 20 has no
 * `node:sqlite`, so this module must only be imported where it exists.
 */
export const nodeSqliteDriver: SqliteDriverFactory = (options: DriverOpenOptions): SqliteDriver => {
  const db = translate(() => new DatabaseSync(options.path, { readOnly: options.readonly, timeout: options.busyTimeoutMs }));
  let depth = 0;
  return {
    path: options.path,
    readonly: options.readonly,
    exec: (sql) => translate(() => db.exec(sql)),
    prepare: (sql) => wrapStatement(translate(() => db.prepare(sql)), () => translate(() => db.prepare(sql)), () => writesNothing(db, sql)),
    transaction: <T>(fn: () => T): T => {
      // Nested calls become savepoints, like better-sqlite3's transaction functions.
      const name = `shardline_sp_${depth}`;
      const outer = depth === 0;
      translate(() => db.exec(outer ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${name}`));
      const rollback = (): void => {
        try {
          db.exec(outer ? 'ROLLBACK' : `ROLLBACK TO ${name}; RELEASE ${name}`);
        } catch {
          // SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR); the original error matters.
        }
      };
      depth += 1;
      let result: T;
      try {
        result = fn();
      } catch (error) {
        depth -= 1;
        rollback();
        throw translateError(error);
      }
      depth -= 1;
      try {
        db.exec(outer ? 'COMMIT' : `RELEASE ${name}`);
      } catch (error) {
        rollback();
        throw translateError(error);
      }
      return result;
    },
    close: () => db.close(),
  };
};

function args(params: SqlParams | undefined): unknown[] {
  if (params === undefined) return [];
  return Array.isArray(params) ? (params as unknown[]) : [params];
}

type AnyStatement = StatementSync & { columns?: () => { name: string }[]; setReturnArrays?: (on: boolean) => void };

/**
 * sqlite3_stmt_readonly's verdict, which node:sqlite does not expose: SQLite marks a statement
 * as writing when its program opens a write transaction (OP_Transaction with P2 != 0) or holds
 * OP_Vacuum or OP_JournalMode, so the same opcodes in EXPLAIN's listing give the same answer.
 * Undefined when SQLite cannot explain the text (several statements, an EXPLAIN itself).
 */
function writesNothing(db: DatabaseSync, sql: string): boolean | undefined {
  let program: Record<string, unknown>[];
  try {
    program = db.prepare(`EXPLAIN ${sql}`).all() as Record<string, unknown>[];
  } catch {
    return undefined;
  }
  return !program.some((op) => (op['opcode'] === 'Transaction' && Number(op['p2']) !== 0) || op['opcode'] === 'Vacuum' || op['opcode'] === 'JournalMode');
}

function wrapStatement(stmt: AnyStatement, prepareAgain: () => AnyStatement, readonly: () => boolean | undefined): SqliteStatement {
  let rawStmt: AnyStatement | undefined;
  const call = <T>(fn: (...a: never[]) => unknown, params: SqlParams | undefined): T =>
    translate(() => (fn as (...a: unknown[]) => unknown).apply(stmt, args(params))) as T;
  const columns = (): string[] => (typeof stmt.columns === 'function' ? stmt.columns().map((c) => c.name) : []);
  const arrays = (): AnyStatement | undefined => {
    if (typeof stmt.setReturnArrays !== 'function') return undefined;
    if (!rawStmt) {
      rawStmt = prepareAgain();
      rawStmt.setReturnArrays!(true);
    }
    return rawStmt;
  };
  const values = (params: SqlParams | undefined): unknown[][] => {
    const r = arrays();
    if (r) return translate(() => (r.all as unknown as (...a: unknown[]) => unknown[][]).apply(r, args(params)));
    // Older node:sqlite: object rows only, so duplicate column names collapse.
    return call<Record<string, unknown>[]>(stmt.all, params).map((row) => Object.values(row));
  };
  let verdict: { value: boolean | undefined } | null = null;
  return {
    // Computed on first use: most statements are only run, and explaining one costs a prepare.
    get readonly() {
      verdict ??= { value: readonly() };
      return verdict.value;
    },
    columns,
    run: (params) => call<RunResult>(stmt.run, params),
    // node:sqlite rows have a null prototype; callers (and deepEqual) expect plain objects.
    get: (params) => plain(call<Record<string, unknown> | undefined>(stmt.get, params)),
    all: (params) => call<Record<string, unknown>[]>(stmt.all, params).map((row) => plain(row)!),
    values,
    iterateValues: (params) => {
      const r = arrays();
      if (r && typeof r.iterate === 'function') {
        const it = translate(() => (r.iterate as unknown as (...a: unknown[]) => IterableIterator<unknown[]>).apply(r, args(params)));
        return wrapIterator(it);
      }
      return values(params)[Symbol.iterator]();
    },
  };
}

function plain(row: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  return row === undefined ? undefined : Object.assign({}, row);
}

function wrapIterator(it: IterableIterator<unknown[]>): IterableIterator<unknown[]> {
  const wrapped: IterableIterator<unknown[]> = {
    next: () => translate(() => it.next()),
    return: (value?: unknown) => (it.return ? it.return(value) : { done: true, value: undefined }) as IteratorResult<unknown[]>,
    [Symbol.iterator]: () => wrapped,
  };
  return wrapped;
}

function translate<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translateError(error);
  }
}

/** Primary result codes by number, for node:sqlite versions that expose `errcode`. */
const CODE_NAMES: Record<number, string> = {
  1: 'SQLITE_ERROR', 3: 'SQLITE_PERM', 5: 'SQLITE_BUSY', 6: 'SQLITE_LOCKED', 7: 'SQLITE_NOMEM', 8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR', 11: 'SQLITE_CORRUPT', 13: 'SQLITE_FULL', 14: 'SQLITE_CANTOPEN', 15: 'SQLITE_PROTOCOL',
  19: 'SQLITE_CONSTRAINT', 20: 'SQLITE_MISMATCH', 23: 'SQLITE_AUTH', 25: 'SQLITE_RANGE', 26: 'SQLITE_NOTADB',
};

/** Some versions (Deno 2.x) give only the message, which is sqlite3_errstr's fixed text. */
const MESSAGE_CODES: [RegExp, string][] = [
  [/attempt to write a readonly database/i, 'SQLITE_READONLY'],
  [/database or disk is full/i, 'SQLITE_FULL'],
  [/disk I\/O error/i, 'SQLITE_IOERR'],
  [/database table is locked/i, 'SQLITE_LOCKED'],
  [/database is locked/i, 'SQLITE_BUSY'],
  [/unable to open database file/i, 'SQLITE_CANTOPEN'],
  [/locking protocol/i, 'SQLITE_PROTOCOL'],
  [/constraint failed/i, 'SQLITE_CONSTRAINT'],
];

function translateError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const e = error as Error & { errcode?: unknown; sqliteCode?: string };
  if (e.sqliteCode) return e;
  let code: string | undefined;
  if (typeof e.errcode === 'number') code = CODE_NAMES[e.errcode & 0xff];
  code ??= MESSAGE_CODES.find(([re]) => re.test(e.message))?.[1];
  if (code) e.sqliteCode = code;
  return e;
}

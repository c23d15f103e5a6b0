import type { SqlParams, SqliteDriver, SqliteStatement } from '../core/sqlite.ts';

/** One write as the primary executed it; replicas execute the same write in the same order. */
export type ReplicatedOp = { readonly kind: 'exec'; readonly sql: string } | { readonly kind: 'run'; readonly sql: string; readonly params: SqlParams | undefined };

export interface ReplicationHooks {
  /** Throws the error LiteFS would produce when this node may not write now. */
  assertWritable(): void;
  /** A transaction committed on this node's database; ship it to the replicas. */
  committed(ops: readonly ReplicatedOp[]): void;
}

/**
 * Wraps the application's connection on a simulated LiteFS node. Writes are fenced by the
 * node's role at the moments LiteFS checks it (lock acquisition and commit), and every
 * committed write is recorded so replicas can replay it.
 *
 * Replication is statement-level, where LiteFS ships pages: statements must be deterministic
 * (no `random()`, no `datetime('now')` in writes). shardline's writes pass explicit values.
 */
export function replicatedDriver(inner: SqliteDriver, hooks: ReplicationHooks): SqliteDriver {
  let pending: ReplicatedOp[] | null = null;

  const write = <T>(op: ReplicatedOp, execute: () => T): T => {
    if (pending !== null) {
      const result = execute();
      pending.push(op);
      return result;
    }
    // Autocommit write: its own transaction.
    hooks.assertWritable();
    const result = execute();
    hooks.committed([op]);
    return result;
  };

  const wrap = (sql: string, statement: SqliteStatement): SqliteStatement => {
    if (statement.readonly === true || isPragma(sql)) return statement;
    const copy = (params: SqlParams | undefined): SqlParams | undefined =>
      params === undefined ? undefined : Array.isArray(params) ? [...params] : { ...(params as Record<string, unknown>) };
    return {
      readonly: statement.readonly,
      columns: () => statement.columns(),
      run: (params) => write({ kind: 'run', sql, params: copy(params) }, () => statement.run(params)),
      get: (params) => write({ kind: 'run', sql, params: copy(params) }, () => statement.get(params)),
      all: (params) => write({ kind: 'run', sql, params: copy(params) }, () => statement.all(params)),
      values: (params) => write({ kind: 'run', sql, params: copy(params) }, () => statement.values(params)),
      iterateValues: (params) => write({ kind: 'run', sql, params: copy(params) }, () => statement.values(params))[Symbol.iterator](),
    };
  };

  return {
    path: inner.path,
    readonly: inner.readonly,
    exec(sql) {
      if (isPragma(sql) || /^\s*(begin|commit|rollback|savepoint|release)\b/i.test(sql)) return inner.exec(sql);
      write({ kind: 'exec', sql }, () => inner.exec(sql));
    },
    prepare: (sql) => wrap(sql, inner.prepare(sql)),
    transaction<T>(fn: () => T): T {
      if (pending !== null) {
        // Savepoint: an inner failure drops only the inner writes.
        const mark = pending.length;
        try {
          return inner.transaction(fn);
        } catch (error) {
          pending.length = mark;
          throw error;
        }
      }
      hooks.assertWritable();
      const ops: ReplicatedOp[] = [];
      pending = ops;
      try {
        const result = inner.transaction(() => {
          const value = fn();
          // LiteFS checks again when the WAL commit is written: a node demoted mid-transaction fails here.
          hooks.assertWritable();
          return value;
        });
        pending = null;
        if (ops.length > 0) hooks.committed(ops);
        return result;
      } finally {
        pending = null;
      }
    },
    close: () => inner.close(),
  };
}

function isPragma(sql: string): boolean {
  return /^\s*pragma\b/i.test(sql);
}

/** Applies replicated writes to a replica's own connection, in one transaction. */
export function applyOps(driver: SqliteDriver, ops: readonly ReplicatedOp[], cache: Map<string, SqliteStatement>): void {
  driver.transaction(() => {
    for (const op of ops) {
      if (op.kind === 'exec') {
        driver.exec(op.sql);
        // Schema changes invalidate prepared statements.
        cache.clear();
        continue;
      }
      let statement = cache.get(op.sql);
      if (!statement) {
        statement = driver.prepare(op.sql);
        cache.set(op.sql, statement);
      }
      statement.run(op.params);
    }
  });
}

/**
 * The database connection of a soak node running on its own thread, on a simulated LiteFS
 * node that lives in the parent. Every write transaction ships its statements to the parent
 * just before COMMIT and blocks until the parent answers: the parent checks the node's role and
 * appends them to the replication log in one step, so a transaction either commits on this
 * node and replicates, or rolls back (the node was not the primary), as LiteFS's commit does.
 * Disk faults (slow, full) act inside that commit.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SqlParams, SqliteDriver, SqliteDriverFactory, SqliteStatement } from '../../src/core/sqlite.ts';
import type { ReplicatedOp } from '../../src/litefs-sim/replicated-driver.ts';
import { CALL, CALL_STATE, DISK, FAULTS, KILLED_EXIT_CODE, type CommitRequest } from './soak-shared.ts';

export interface RemoteReplication {
  readonly commits: MessagePort;
  readonly call: Int32Array;
  readonly faults: Int32Array;
  readonly slot: number;
}

/** A blocking wait that holds the thread (what a slow fsync does to a synchronous driver). */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** What a killed node's last statements see until its thread ends (nothing after them commits). */
function killed(): Error {
  return Object.assign(new Error('disk I/O error (the node was killed)'), { code: 'SQLITE_IOERR_WRITE' });
}

function diskFull(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

/** As LiteFS fails a replica's WAL write: SQLite reports an I/O error. */
function notWritable(): Error {
  return Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
}

export function remoteReplicatedFactory(inner: SqliteDriverFactory, link: RemoteReplication): SqliteDriverFactory {
  const isKilled = (): boolean => Atomics.load(link.faults, FAULTS.kill + link.slot) === 1;
  const call = (request: CommitRequest): void => {
    if (isKilled()) throw killed();
    Atomics.store(link.call, CALL.state, CALL_STATE.waiting);
    link.commits.postMessage(request);
    // The parent answers within a turn of its event loop.
    Atomics.wait(link.call, CALL.state, CALL_STATE.waiting);
    const state = Atomics.load(link.call, CALL.state);
    // Killed while waiting: the transaction stays uncommitted, as a kill -9 leaves it, and the
    // thread ends at the next task boundary. Not process.exit() here: this call can sit inside a
    // callback of the HTTP parser (a route's synchronous transaction), and ending the thread
    // there aborts the whole process (v8 "ToLocalChecked Empty MaybeLocal" in llhttp).
    if (state === CALL_STATE.killed) {
      setImmediate(() => process.exit(KILLED_EXIT_CODE));
      throw killed();
    }
    if (state !== CALL_STATE.ok) throw notWritable();
  };
  const hooks: Hooks = {
    // Asked before BEGIN, as LiteFS refuses a replica's write lock: a replica never holds a lock the replication needs.
    begin: () => call({ ops: null }),
    commit: (ops) => {
      const disk = Atomics.load(link.faults, FAULTS.disk + link.slot);
      if (disk === DISK.full) throw diskFull();
      if (disk === DISK.slow) blockFor(Atomics.load(link.faults, FAULTS.diskSlowMs + link.slot));
      if (ops.length > 0) call({ ops });
    },
  };
  return (options) => (options.readonly ? inner(options) : remoteReplicated(inner(options), hooks));
}

interface Hooks {
  begin(): void;
  commit(ops: readonly ReplicatedOp[]): void;
}

function remoteReplicated(inner: SqliteDriver, hooks: Hooks): SqliteDriver {
  let pending: ReplicatedOp[] | null = null;

  const write = <T>(op: ReplicatedOp, execute: () => T): T => {
    if (pending !== null) {
      const result = execute();
      pending.push(op);
      return result;
    }
    // Autocommit write: its own transaction.
    hooks.begin();
    return inner.transaction(() => {
      const result = execute();
      hooks.commit([op]);
      return result;
    });
  };

  const copy = (params: SqlParams | undefined): SqlParams | undefined =>
    params === undefined ? undefined : Array.isArray(params) ? [...params] : { ...(params as Record<string, unknown>) };

  const wrap = (sql: string, statement: SqliteStatement): SqliteStatement => {
    if (statement.readonly === true || isPragma(sql)) return statement;
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
        const mark = pending.length;
        try {
          return inner.transaction(fn);
        } catch (error) {
          pending.length = mark;
          throw error;
        }
      }
      hooks.begin();
      const ops: ReplicatedOp[] = [];
      pending = ops;
      try {
        return inner.transaction(() => {
          const value = fn();
          pending = null;
          // Replicated before the local COMMIT: a refusal rolls this transaction back.
          hooks.commit(ops);
          return value;
        });
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

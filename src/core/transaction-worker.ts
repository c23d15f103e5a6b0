/**
 * The port between the worker write funnel (src/store/worker-write-funnel.ts) and a thread
 * that owns its own writable connection and runs the funnel's transactions there, so the
 * event loop keeps reading sockets while SQLite commits. Only `src/runtime/` implements it.
 */
import type { SessionCommit, WriteEntry } from './mutation.ts';

export interface TransactionBatch {
  /** Entries already fenced by the funnel, oldest first: applied in ONE transaction. */
  readonly entries?: readonly WriteEntry[];
  /**
   * The same, packed in one flat array of values (src/store/packed-entries.ts); what the thread
   * funnel sends, because it clones for a fraction of what entry objects cost. Used when set.
   */
  readonly packed?: readonly unknown[];
  /** The write time bound to `updated_at` columns. */
  readonly now: number;
  /**
   * Check each entry's epoch against shard_assignments inside the transaction (contract 5):
   * the funnel's own check ran when the batch was sent, and a move may commit meanwhile.
   */
  readonly fenced?: boolean;
  /**
   * Sent while the batch before it was still out: run it only if that one committed, and
   * otherwise answer `notRun`. Its entries come after that batch's, so committing them alone
   * would put later seqs and rows before earlier ones that are still to come.
   */
  readonly afterPrevious?: boolean;
}

export interface DroppedEntry {
  /** Index into the batch's entries. */
  readonly index: number;
  readonly sqliteCode: string | undefined;
  readonly message: string;
}

export type TransactionOutcome =
  | {
      readonly ok: true;
      /** Rows SQLite changed, session rows included. */
      readonly committedRows: number;
      /** The session committed for each shard, in the same transaction as the rows. */
      readonly sessions: readonly (readonly [number, SessionCommit])[];
      /** Entries SQLite refused for their data (the batch was retried one entry at a time). */
      readonly dropped: readonly DroppedEntry[];
      /** Indexes of entries skipped because shard_assignments holds a newer epoch (only when `fenced`). */
      readonly stale: readonly number[];
    }
  | {
      readonly ok: false;
      /** SQLITE_FULL, SQLITE_READONLY...; undefined when the thread itself failed. */
      readonly sqliteCode: string | undefined;
      readonly message: string;
      /** An `afterPrevious` batch left alone because the one before it did not commit. */
      readonly notRun?: boolean;
    };

export interface TransactionWorker {
  /** False once the thread has exited (after close(), or a crash). */
  readonly running: boolean;
  /**
   * The thread's own JS heap in use (not part of the main thread's heap figures), sampled once
   * the thread has been idle a moment, after a GC where the runtime exposes one; null before.
   */
  readonly heapUsedBytes: number | null;
  /** Resolves with the outcome; never rejects (a dead thread is an `ok: false` outcome). */
  run(batch: TransactionBatch): Promise<TransactionOutcome>;
  /** Closes the thread's connection and waits until the thread has exited. */
  close(): Promise<void>;
}

export interface TransactionWorkerOptions {
  readonly databasePath: string;
  /** Tests: the next N transactions fail with this SQLite code before touching the database. */
  readonly failNext?: { readonly count: number; readonly sqliteCode: string };
}

/** How a runtime starts a transaction thread (Node: node:worker_threads). */
export type TransactionWorkerFactory = (options: TransactionWorkerOptions) => TransactionWorker;

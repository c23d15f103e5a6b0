/**
 * One funnel batch in one transaction: the rule both write funnels (inline and on a
 * transaction thread) apply. Each shard's session row commits with its rows; a data error
 * (not an availability one) retries the batch one entry per savepoint and drops the refused
 * entries. Availability errors (SQLITE_FULL, READONLY, IOERR, BUSY...) are thrown: the caller
 * keeps the batch.
 */
import { ShardlineError } from '../core/errors.ts';
import type { SessionCommit, WriteEntry } from '../core/mutation.ts';
import { isUnavailableError, sqliteErrorCode } from '../core/sqlite.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { DroppedEntry, TransactionOutcome } from '../core/transaction-worker.ts';
import type { MutationApplier } from './mutation-applier.ts';

export interface AppliedBatch {
  readonly committedRows: number;
  readonly sessions: Map<number, SessionCommit>;
  readonly dropped: DroppedEntry[];
  /** Indexes of entries skipped for a stale epoch (only with `fenced`). */
  readonly stale: number[];
}

export interface ApplyBatchOptions {
  /**
   * Skip entries whose shard has a newer epoch in shard_assignments, read inside the same
   * transaction: the coordinator commits an epoch before it acts on it, so a committed move
   * can never be overwritten by the shard's previous owner.
   */
  readonly fenced?: boolean;
}

export function applyBatch(db: SqliteDriver, applier: MutationApplier, entries: readonly WriteEntry[], now: number, options: ApplyBatchOptions = {}): AppliedBatch {
  try {
    return db.transaction(() => {
      const stale = options.fenced ? staleIndexes(applier, entries) : NONE;
      let rows = 0;
      const sessions = new Map<string, { entry: WriteEntry; session: SessionCommit }>();
      for (let i = 0; i < entries.length; i++) {
        if (stale.has(i)) continue;
        const entry = entries[i]!;
        for (const mutation of entry.mutations) rows += applier.apply(mutation, now);
        // One session row per shard of each set: the two sets of a reshard share shard ids.
        if (entry.session) sessions.set(`${entry.generation ?? ''}:${entry.shardId}`, { entry, session: entry.session });
      }
      for (const { entry, session } of sessions.values()) {
        applier.commitSession(entry.shardId, session, now, entry.generation);
        rows += 1;
      }
      return { committedRows: rows, sessions: new Map([...sessions.values()].map(({ entry, session }) => [entry.shardId, session])), dropped: [], stale: [...stale] };
    });
  } catch (error) {
    if (isUnavailableError(error)) throw error;
    return db.transaction(() => applyOneByOne(db, applier, entries, now, options.fenced ? staleIndexes(applier, entries) : NONE));
  }
}

const NONE: ReadonlySet<number> = new Set();

/** Entries whose shard's committed epoch differs from theirs; a shard with no assignment row is not fenced. */
function staleIndexes(applier: MutationApplier, entries: readonly WriteEntry[]): Set<number> {
  const epochs = new Map<string, number | null>();
  const stale = new Set<number>();
  entries.forEach((entry, index) => {
    const key = `${entry.generation ?? ''}:${entry.shardId}`;
    if (!epochs.has(key)) epochs.set(key, applier.assignedEpoch(entry.shardId, entry.generation));
    const committed = epochs.get(key);
    if (committed !== null && committed !== undefined && committed !== entry.epoch) stale.add(index);
  });
  return stale;
}

function applyOneByOne(db: SqliteDriver, applier: MutationApplier, entries: readonly WriteEntry[], now: number, stale: ReadonlySet<number>): AppliedBatch {
  let rows = 0;
  const sessions = new Map<number, SessionCommit>();
  const dropped: DroppedEntry[] = [];
  entries.forEach((entry, index) => {
    if (stale.has(index)) return;
    try {
      rows += db.transaction(() => {
        let n = 0;
        for (const mutation of entry.mutations) n += applier.apply(mutation, now);
        if (entry.session) {
          applier.commitSession(entry.shardId, entry.session, now, entry.generation);
          n += 1;
        }
        return n;
      });
      if (entry.session) sessions.set(entry.shardId, entry.session);
    } catch (error) {
      if (isUnavailableError(error)) throw error;
      dropped.push({ index, sqliteCode: sqliteErrorCode(error), message: error instanceof Error ? error.message : String(error) });
    }
  });
  return { committedRows: rows, sessions, dropped, stale: [...stale] };
}

/**
 * What an entry weighs against the thresholds: its mutations. Session rows are written once per
 * shard per batch, so they do not count; an entry with none still weighs 1 (memory is memory).
 */
export function rowsOf(entry: WriteEntry): number {
  return Math.max(1, entry.mutations.length);
}

/** Local entries are trusted; forwarded ones went through parseWriteEntry. This only keeps a wrong shape out of the queue. */
export function isEntryShape(entry: WriteEntry): boolean {
  return typeof entry === 'object' && entry !== null && Number.isInteger(entry.shardId) && Number.isInteger(entry.epoch) && Array.isArray(entry.mutations);
}

export function staleError(entry: WriteEntry): ShardlineError {
  return new ShardlineError('STALE_EPOCH', `Refused a write of shard ${entry.shardId} at epoch ${entry.epoch}: the shard's assignment has moved on`, {
    details: { shardId: entry.shardId, epoch: entry.epoch, ...(entry.generation === undefined ? {} : { generation: entry.generation }) },
  });
}

/** The report of an entry whose data SQLite refused (it is dropped, the rest of the batch commits). */
export function droppedWriteError(entry: WriteEntry, drop: DroppedEntry): ShardlineError {
  return new ShardlineError('INVALID_INPUT', `Dropped a write of shard ${entry.shardId} (${entry.mutations.length} mutations): SQLite refused it: ${drop.sqliteCode ?? ''} ${drop.message}`.replace('  ', ' '), {
    details: { shardId: entry.shardId, epoch: entry.epoch },
  });
}

/** A batch applied as a TransactionOutcome: what fails (opening included) becomes `ok: false` with its SQLite code. */
export function outcomeOf(apply: () => AppliedBatch): TransactionOutcome {
  try {
    const applied = apply();
    return { ok: true, committedRows: applied.committedRows, sessions: [...applied.sessions], dropped: applied.dropped, stale: applied.stale };
  } catch (error) {
    const cause = (error as { cause?: unknown } | null)?.cause;
    return { ok: false, sqliteCode: sqliteErrorCode(error) ?? sqliteErrorCode(cause), message: error instanceof Error ? error.message : String(error) };
  }
}

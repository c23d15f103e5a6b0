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
import { entryList, type BatchEntries } from './packed-entries.ts';

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

export function applyBatch(db: SqliteDriver, applier: MutationApplier, batch: readonly WriteEntry[] | BatchEntries, now: number, options: ApplyBatchOptions = {}): AppliedBatch {
  const entries = isEntryArray(batch) ? entryList(batch) : batch;
  try {
    return db.transaction(() => {
      const stale = options.fenced ? staleIndexes(applier, entries) : NONE;
      let rows = 0;
      // Where the last session of each shard of each set is (the two sets of a reshard share
      // shard ids): by generation, then shard. Only those are read (a packed batch builds a
      // session object on each read), and each is written once.
      const last = new Map<number | undefined, Map<number, number>>();
      for (let i = 0; i < entries.length; i++) {
        if (stale.has(i)) continue;
        rows += entries.apply(i, applier, now);
        if (!entries.hasSession(i)) continue;
        const generation = entries.generation(i);
        let shards = last.get(generation);
        if (!shards) last.set(generation, (shards = new Map()));
        shards.set(entries.shardId(i), i);
      }
      const committed = new Map<number, SessionCommit>();
      for (const [generation, shards] of last) {
        for (const [shardId, index] of shards) {
          const session = entries.session(index)!;
          applier.commitSession(shardId, session, now, generation);
          committed.set(shardId, session);
          rows += 1;
        }
      }
      return { committedRows: rows, sessions: committed, dropped: [], stale: [...stale] };
    });
  } catch (error) {
    if (isUnavailableError(error)) throw error;
    return db.transaction(() => applyOneByOne(db, applier, entries, now, options.fenced ? staleIndexes(applier, entries) : NONE));
  }
}

function isEntryArray(batch: readonly WriteEntry[] | BatchEntries): batch is readonly WriteEntry[] {
  return Array.isArray(batch);
}

const NONE: ReadonlySet<number> = new Set();

/** Entries whose shard's committed epoch differs from theirs; a shard with no assignment row is not fenced. */
function staleIndexes(applier: MutationApplier, entries: BatchEntries): Set<number> {
  const epochs = new Map<string, number | null>();
  const stale = new Set<number>();
  for (let index = 0; index < entries.length; index++) {
    const shardId = entries.shardId(index);
    const generation = entries.generation(index);
    const key = `${generation ?? ''}:${shardId}`;
    if (!epochs.has(key)) epochs.set(key, applier.assignedEpoch(shardId, generation));
    const committed = epochs.get(key);
    if (committed !== null && committed !== undefined && committed !== entries.epoch(index)) stale.add(index);
  }
  return stale;
}

function applyOneByOne(db: SqliteDriver, applier: MutationApplier, entries: BatchEntries, now: number, stale: ReadonlySet<number>): AppliedBatch {
  let rows = 0;
  const sessions = new Map<number, SessionCommit>();
  const dropped: DroppedEntry[] = [];
  for (let index = 0; index < entries.length; index++) {
    if (stale.has(index)) continue;
    const session = entries.session(index);
    const shardId = entries.shardId(index);
    try {
      rows += db.transaction(() => {
        let n = entries.apply(index, applier, now);
        if (session) {
          applier.commitSession(shardId, session, now, entries.generation(index));
          n += 1;
        }
        return n;
      });
      if (session) sessions.set(shardId, session);
    } catch (error) {
      if (isUnavailableError(error)) throw error;
      dropped.push({ index, sqliteCode: sqliteErrorCode(error), message: error instanceof Error ? error.message : String(error) });
    }
  }
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

/**
 * When the write funnel commits next and how much one transaction carries. Pure, so the rules
 * can be walked in a table.
 *
 * On fast storage a transaction takes a few ms: flush one interval after the first pending
 * entry, at most `maxBatchRows` rows per transaction. On slow storage (LiteFS's FUSE mount,
 * where every page written is a round trip to the LiteFS daemon) a transaction takes longer
 * than the interval and its cost is mostly per page: the entries that queued meanwhile have
 * already waited an interval, so the next transaction starts at once, and it may carry all of
 * them, up to half the high-water mark. Batches then grow with the storage's delay instead of
 * queueing behind a cap, and pages that several rows share are written once.
 */

export interface FlushTiming {
  readonly now: number;
  readonly queuedRows: number;
  readonly intervalMs: number;
  readonly thresholdRows: number;
  /** How long the transaction that just ended took, when scheduling right after one; else null. */
  readonly afterTransactionMs: number | null;
}

/** When the next transaction is due. */
export function nextFlushAt(t: FlushTiming): number {
  if (t.queuedRows >= t.thresholdRows) return t.now;
  // What queued while the last transaction ran has waited that long already.
  const waited = t.afterTransactionMs ?? 0;
  return t.now + Math.max(0, t.intervalMs - waited);
}

export interface BatchSizing {
  readonly maxBatchRows: number;
  readonly highWaterRows: number;
  readonly intervalMs: number;
  /** Duration of the last committed transaction; null before the first. */
  readonly lastTransactionMs: number | null;
}

/**
 * The most rows the next transaction may carry (an entry is never split, so at least one entry
 * goes). On slow storage, half the high-water mark: the thread funnel sends the next batch
 * while one commits, and two such batches fit under the mark, so the shards still read while
 * the second waits its turn (a batch of the whole mark would stop them for each transaction).
 */
export function batchRowsLimit(s: BatchSizing): number {
  const slow = s.lastTransactionMs !== null && s.lastTransactionMs > s.intervalMs;
  return slow ? Math.max(s.maxBatchRows, Math.floor(s.highWaterRows / 2)) : s.maxBatchRows;
}

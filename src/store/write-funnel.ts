/**
 * The primary's single writer (contract 3). Everything pending from every shard is applied in
 * ONE transaction per flush, with each shard's session row (seq) committed in that same
 * transaction, so "seq is durable" always means "the cache rows up to seq are durable".
 * A failed transaction (replica, full disk) loses nothing: the batch stays queued, is retried
 * with backoff, and the queue's high-water mark pushes back on the shards meanwhile.
 */
import { backoffDelay } from '../core/abort.ts';
import { ShardlineError } from '../core/errors.ts';
import type { WriteEntry, Writer } from '../core/mutation.ts';
import type { Clock } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { sqliteErrorCode } from '../core/sqlite.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { applyBatch, droppedWriteError, staleError, type AppliedBatch } from './apply-batch.ts';
import { MutationApplier } from './mutation-applier.ts';
import { WRITE_DEFAULTS, WriteQueue } from './write-queue.ts';

export interface FlushInfo {
  readonly entries: number;
  readonly mutations: number;
  /** Rows SQLite changed (inserted, updated or deleted), session rows included. */
  readonly rows: number;
  readonly shards: number;
  readonly durationMs: number;
}

export interface WriteFunnelStats {
  readonly queuedEntries: number;
  /** Pending mutations (at least 1 per entry): what the thresholds count. */
  readonly queuedRows: number;
  readonly highWaterRows: number;
  /** enqueue() calls currently held back by the high-water mark. */
  readonly blockedEnqueues: number;
  readonly transactions: number;
  readonly committedEntries: number;
  readonly committedRows: number;
  readonly lastBatch: FlushInfo | null;
  readonly maxBatchMutations: number;
  readonly totalFlushMs: number;
  readonly failedTransactions: number;
  readonly consecutiveFailures: number;
  readonly lastError: { code: string; message: string } | null;
  /** Entries refused because their epoch was stale (at enqueue or at flush). */
  readonly staleRejected: number;
  /** Entries dropped because SQLite refused their data (not an availability problem). */
  readonly droppedEntries: number;
  /** Entries without rows folded into their shard's previous unsent entry (transaction thread only). */
  readonly mergedEntries?: number;
  /** Rows the next transaction may carry (thread only): grows on slow storage, see batch-policy.ts. */
  readonly batchRowsLimit?: number;
  /** True when transactions run on a thread (writeFunnel 'thread'), false on the event loop. */
  readonly thread: boolean;
  /** Transaction threads started again after one died (thread only). */
  readonly threadRestarts?: number;
  /** The transaction thread's JS heap in use, sampled when it idles (null before that, or inline). */
  readonly threadHeapBytes?: number | null;
}

export interface WriteFunnelOptions {
  readonly db: SqliteDriver;
  /** Flush this long after the first pending entry (default 50 ms). */
  readonly flushIntervalMs?: number;
  /** Flush at once when this many rows are pending (default 10 000). */
  readonly flushThresholdRows?: number;
  /** enqueue() waits for a flush above this many pending rows (default 50 000). */
  readonly highWaterRows?: number;
  /** Retry backoff after a failed transaction (defaults 100 ms doubling up to 5 s). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Returns false when (shardId, epoch) is no longer the shard's assignment. The single node accepts all. */
  readonly fence?: (shardId: number, epoch: number, generation?: number) => boolean;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** After each commit, once per shard whose session was in the batch: that seq is durable. */
  readonly commitListener?: (shardId: number, seq: number) => void;
  readonly flushListener?: (info: FlushInfo) => void;
  /** STORE_UNAVAILABLE on failed transactions, STALE_EPOCH / INVALID_INPUT on dropped entries. */
  readonly errorListener?: (error: ShardlineError) => void;
}

export class WriteFunnel implements Writer {
  readonly #db: SqliteDriver;
  readonly #applier: MutationApplier;
  readonly #options: WriteFunnelOptions;
  readonly #intervalMs: number;
  readonly #thresholdRows: number;
  readonly #highWaterRows: number;
  readonly #clock: Clock;
  readonly #queue: WriteQueue;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = 0;
  #retryAt = 0;
  #started = false;
  #closed = false;
  #stats = {
    transactions: 0,
    committedEntries: 0,
    committedRows: 0,
    lastBatch: null as FlushInfo | null,
    maxBatchMutations: 0,
    totalFlushMs: 0,
    failedTransactions: 0,
    consecutiveFailures: 0,
    lastError: null as { code: string; message: string } | null,
    staleRejected: 0,
    droppedEntries: 0,
  };

  constructor(options: WriteFunnelOptions) {
    this.#options = options;
    this.#db = options.db;
    this.#applier = new MutationApplier(options.db);
    this.#intervalMs = options.flushIntervalMs ?? WRITE_DEFAULTS.flushIntervalMs;
    this.#thresholdRows = options.flushThresholdRows ?? WRITE_DEFAULTS.flushThresholdRows;
    this.#highWaterRows = options.highWaterRows ?? WRITE_DEFAULTS.highWaterRows;
    this.#clock = options.clock ?? systemClock;
    this.#queue = new WriteQueue({
      highWaterRows: this.#highWaterRows,
      ...(options.fence ? { fence: options.fence } : {}),
      // Folding saves the thread funnel a clone per event; here a batch is applied in place.
      fold: false,
      onStale: () => void (this.#stats.staleRejected += 1),
      onQueued: () => this.#schedule(),
    });
    if (this.#db.readonly) {
      // Not an error yet: the node may become primary later only with a new connection, but say so early.
      this.#stats.lastError = { code: 'STORE_UNAVAILABLE', message: `Database ${this.#db.path} is open read-only; every flush will fail` };
    }
  }

  start(): void {
    if (this.#closed) throw new ShardlineError('CLOSED', 'Cannot start the write funnel: it is closed');
    this.#started = true;
    this.#schedule();
  }

  offer(entry: WriteEntry): boolean {
    return this.#queue.offer(entry);
  }

  enqueue(entry: WriteEntry): Promise<void> {
    return this.#queue.enqueue(entry);
  }

  /** Transactions run synchronously here, so none is ever in flight between two calls. */
  settled(): Promise<void> {
    return Promise.resolve();
  }

  /** Transactions run on this very connection, synchronously: a write never waits for one. */
  exclusive<T>(write: () => T): Promise<T> {
    return Promise.resolve().then(write);
  }

  /** Commits everything pending now, ignoring the interval and the retry backoff. */
  flush(): Promise<void> {
    try {
      this.#flushNow();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Resolves once every entry accepted so far is committed (or handed on by drain()), on the
   * funnel's own schedule: unlike flush() it starts no transaction, so callers arriving close
   * together share one. Rejects with the error of a failed transaction that held those entries.
   */
  committed(): Promise<void> {
    return this.#queue.committed();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.stopAccepting();
    this.#clearTimer();
    try {
      this.#flushNow();
    } catch {
      // Reported through errorListener and stats; the entries cannot be kept past close.
    }
    this.#queue.close(new ShardlineError('CLOSED', `Write funnel closed with ${this.#queue.length} entries it could not commit`));
  }

  /**
   * Takes every queued entry out without committing it, oldest first: a node that lost the
   * primary role hands them to its forwarding writer, which sends them to the new primary.
   * Blocked enqueue() calls are released (their entries are among those returned).
   */
  drain(): WriteEntry[] {
    this.#clearTimer();
    this.#retryAt = 0;
    return this.#queue.takeAll();
  }

  stats(): WriteFunnelStats {
    return { thread: false, ...this.#stats, queuedEntries: this.#queue.length, queuedRows: this.#queue.rows, highWaterRows: this.#highWaterRows, blockedEnqueues: this.#queue.held };
  }

  #schedule(): void {
    if (!this.#started || this.#closed || this.#queue.length === 0) return;
    const now = this.#clock.now();
    const soon = this.#queue.rows >= this.#thresholdRows ? now : now + this.#intervalMs;
    const due = Math.max(soon, this.#retryAt);
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    this.#clearTimer();
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.#flushNow();
      } catch {
        // Already recorded and reported; #flushNow rescheduled the retry.
      }
    }, Math.max(0, due - now));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #flushNow(): void {
    this.#clearTimer();
    if (this.#queue.length === 0) return;
    const { batch, rows: batchRows } = this.#queue.take(Infinity);
    const started = performance.now();
    const now = this.#clock.now();
    // The epoch can go stale between enqueue and commit (a move happened meanwhile).
    const accepted = batch.filter((entry) => this.#checkFenceAtFlush(entry));
    let result: AppliedBatch;
    try {
      result = applyBatch(this.#db, this.#applier, accepted, now);
    } catch (error) {
      this.#queue.returnSent();
      throw this.#failed(error, batch.length, batchRows);
    }
    for (const drop of result.dropped) {
      this.#stats.droppedEntries += 1;
      this.#report(droppedWriteError(accepted[drop.index]!, drop));
    }
    const kept = accepted.length - result.dropped.length;
    const durationMs = performance.now() - started;
    // Entries enqueued during the transaction (none today: it is synchronous) would stay queued.
    this.#queue.removeHead(batch.length, batchRows);
    const mutations = batch.reduce((n, e) => n + e.mutations.length, 0);
    const info: FlushInfo = { entries: kept, mutations, rows: result.committedRows, shards: new Set(batch.map((e) => e.shardId)).size, durationMs };
    const s = this.#stats;
    s.transactions += 1;
    s.committedEntries += kept;
    s.committedRows += result.committedRows;
    s.lastBatch = info;
    s.maxBatchMutations = Math.max(s.maxBatchMutations, mutations);
    s.totalFlushMs += durationMs;
    s.consecutiveFailures = 0;
    s.lastError = null;
    this.#retryAt = 0;
    this.#schedule();
    this.#notify(() => this.#options.flushListener?.(info));
    for (const [shardId, session] of result.sessions) this.#notify(() => this.#options.commitListener?.(shardId, session.seq));
  }

  #checkFenceAtFlush(entry: WriteEntry): boolean {
    if (this.#queue.fenceAccepts(entry)) return true;
    this.#stats.staleRejected += 1;
    this.#report(staleError(entry));
    return false;
  }

  #failed(error: unknown, entries: number, rows: number): ShardlineError {
    const code = sqliteErrorCode(error) ?? 'unknown error';
    const reason = error instanceof Error ? error.message : String(error);
    const wrapped = new ShardlineError(
      'STORE_UNAVAILABLE',
      `Cannot commit ${entries} queued writes (${rows} rows) to ${this.#db.path}: ${code}: ${reason}; kept queued, retrying`,
      { cause: error, details: { sqliteCode: code, queuedEntries: this.#queue.length } },
    );
    const s = this.#stats;
    s.failedTransactions += 1;
    s.consecutiveFailures += 1;
    s.lastError = { code: wrapped.code, message: wrapped.message };
    const delay = Math.max(this.#intervalMs, backoffDelay(s.consecutiveFailures - 1, this.#options.retryBaseMs ?? 100, this.#options.retryMaxMs ?? 5000, this.#options.random));
    this.#retryAt = this.#clock.now() + delay;
    this.#report(wrapped);
    this.#queue.failed(wrapped);
    this.#schedule();
    return wrapped;
  }

  #report(error: ShardlineError): void {
    this.#notify(() => this.#options.errorListener?.(error));
  }

  #notify(call: () => void): void {
    try {
      call();
    } catch {
      // A listener's own failure must not break the writer (the batch is already committed).
    }
  }
}

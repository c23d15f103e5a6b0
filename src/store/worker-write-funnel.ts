/**
 * The write funnel with its transactions on a thread (TransactionWorker) that owns a second
 * writable connection, so the event loop keeps reading sockets while SQLite commits. Same
 * contract as WriteFunnel: one transaction per flush, each shard's seq committed with its
 * rows, a failed transaction keeps its batch queued and retries with backoff, and the
 * high-water mark pushes back on enqueue(). Up to two batches are out at a time: while the
 * thread commits one, the next is sent as soon as it is full, so the thread finds it waiting
 * instead of idling while this thread packs and posts it. The second runs only if the first
 * committed (the thread refuses it otherwise): a later seq must never commit before the rows
 * ahead of it. With a fence, the epochs are checked twice: here when the batch is sent, and by
 * the thread against shard_assignments inside the transaction, because a move can commit on
 * the main connection while the batch is on its way.
 */
import { backoffDelay } from '../core/abort.ts';
import { ShardlineError } from '../core/errors.ts';
import type { WriteEntry, Writer } from '../core/mutation.ts';
import type { Clock } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import type { TransactionOutcome, TransactionWorker, TransactionWorkerFactory, TransactionWorkerOptions } from '../core/transaction-worker.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { applyBatch, droppedWriteError, outcomeOf, staleError } from './apply-batch.ts';
import { batchRowsLimit, nextFlushAt } from './batch-policy.ts';
import { MutationApplier } from './mutation-applier.ts';
import { packEntries } from './packed-entries.ts';
import { DEFAULT_WAL_AUTOCHECKPOINT_BYTES, walAutocheckpointPagesFor } from './open-database.ts';
import type { FlushInfo, WriteFunnelOptions, WriteFunnelStats } from './write-funnel.ts';
import { WRITE_DEFAULTS, WriteQueue } from './write-queue.ts';

export interface WorkerWriteFunnelOptions extends Omit<WriteFunnelOptions, 'db'> {
  readonly databasePath: string;
  readonly workers: TransactionWorkerFactory;
  /** Tests: the thread fails its next N transactions with this code. */
  readonly failNext?: TransactionWorkerOptions['failNext'];
  /** True while writes must not start (a primary handoff): counted as SQLITE_BUSY. */
  readonly writesHeld?: () => boolean;
  /**
   * The event loop's own writable connection, used instead of the thread if threads cannot
   * start here at all (the thread died before its first commit, twice): the host then keeps
   * committing, on the event loop, instead of failing every batch.
   */
  readonly fallbackDb?: SqliteDriver;
  /**
   * Rows sent to the thread per transaction while transactions are quick (default 20 000; an
   * entry is never split). The queue grows while a batch is on the thread; without a cap the
   * next batch would carry all of it, as one clone held in both heaps at once. Once a
   * transaction takes longer than the flush interval (slow storage), a batch may carry up to
   * the high-water mark (batch-policy.ts).
   */
  readonly maxBatchRows?: number;
}

export class WorkerWriteFunnel implements Writer {
  readonly #o: WorkerWriteFunnelOptions;
  readonly #intervalMs: number;
  readonly #thresholdRows: number;
  readonly #maxBatchRows: number;
  readonly #highWaterRows: number;
  readonly #clock: Clock;
  #worker: TransactionWorker | null = null;
  /** Set once threads proved unable to start: transactions run on fallbackDb from then on. */
  #inline: { readonly db: SqliteDriver; readonly applier: MutationApplier; checkpoints: boolean } | null = null;
  #threadCommitted = false;
  /**
   * False while the first thread still loads (hundreds of ms on a busy machine): batches commit
   * on fallbackDb meanwhile, so a new primary's first commits (writes queued during a takeover,
   * the handoffs of a leaving node) do not wait for it.
   */
  #threadReady = false;
  /** fallbackDb while the thread loads; it leaves checkpoints to the thread (checkpoints: true keeps its setting). */
  #startupInline: { readonly db: SqliteDriver; readonly applier: MutationApplier; checkpoints: boolean } | null = null;
  #threadStartFailures = 0;
  readonly #queue: WriteQueue;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = 0;
  #retryAt = 0;
  /** The last transaction's duration, which sizes and times the next (batch-policy.ts). */
  #lastTransactionMs: number | null = null;
  #afterTransactionMs: number | null = null;
  /** When the last batch came back (both clocks): a batch sent ahead starts on the thread then. */
  #lastEndedMs = 0;
  #lastEndedAt = 0;
  /** Batches out, oldest first (at most two, both on the thread when there are two). */
  readonly #flights: Flight[] = [];
  /** A batch out failed: the ones after it come back unrun, then all are queued unsent again. */
  #returning = false;
  /** A microtask will look at sending the next batch ahead. */
  #aheadPending = false;
  #paused = 0;
  /** flush() calls waiting for the pause of exclusive() or drain() to end. */
  #unpaused: (() => void)[] = [];
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
    threadRestarts: 0,
  };

  constructor(options: WorkerWriteFunnelOptions) {
    this.#o = options;
    this.#intervalMs = options.flushIntervalMs ?? WRITE_DEFAULTS.flushIntervalMs;
    this.#thresholdRows = options.flushThresholdRows ?? WRITE_DEFAULTS.flushThresholdRows;
    this.#maxBatchRows = options.maxBatchRows ?? WRITE_DEFAULTS.maxBatchRows;
    this.#highWaterRows = options.highWaterRows ?? WRITE_DEFAULTS.highWaterRows;
    this.#clock = options.clock ?? systemClock;
    // Entries without rows fold into their shard's queued entry: no clone per event to the thread.
    this.#queue = new WriteQueue({
      highWaterRows: this.#highWaterRows,
      ...(options.fence ? { fence: options.fence } : {}),
      fold: true,
      onStale: () => void (this.#stats.staleRejected += 1),
      onQueued: () => this.#onQueued(),
    });
  }

  start(): void {
    if (this.#closed) throw new ShardlineError('CLOSED', 'Cannot start the write funnel: it is closed');
    this.#started = true;
    this.#warmUp();
    this.#schedule();
  }

  /** Starts the thread now, with an empty (lock-free) transaction; until it answers, batches commit on fallbackDb. */
  #warmUp(): void {
    if (!this.#o.fallbackDb || this.#o.failNext) {
      this.#threadReady = true;
      return;
    }
    const worker = (this.#worker ??= this.#o.workers({ databasePath: this.#o.databasePath }));
    // A thread that fails here counts towards the fallback, as a batch's failure would.
    void worker.run({ entries: [], now: this.#clock.now() }).then(async (outcome) => {
      if (!outcome.ok && outcome.sqliteCode === undefined && !this.#threadCommitted) await this.#threadFailedToStart(outcome.message);
      this.#threadReady = true;
    });
  }

  offer(entry: WriteEntry): boolean {
    return this.#queue.offer(entry);
  }

  enqueue(entry: WriteEntry): Promise<void> {
    return this.#queue.enqueue(entry);
  }

  /** Resolves when no batch is on the thread (at once when none is). */
  async settled(): Promise<void> {
    while (this.#flights.length > 0) await this.#flights.at(-1)!.done;
  }

  /**
   * Runs `write` (a write on another connection of this database) while no batch is on the
   * thread, and sends none until it returns. SQLite's busy handler waits synchronously, so a
   * write that met the thread's lock would stall the event loop for the rest of a batch (tens
   * of ms under load); here the wait is a promise.
   */
  async exclusive<T>(write: () => T): Promise<T> {
    this.#paused += 1;
    try {
      // close() may still send a last batch while paused: check again after each.
      await this.settled();
      return write();
    } finally {
      this.#unpause();
    }
  }

  /** Commits everything accepted so far, ignoring the interval and the retry backoff. */
  async flush(): Promise<void> {
    const target = this.#queue.pushed;
    while (this.#queue.removed < target && this.#queue.length > 0) {
      if (this.#flights.length > 0) {
        await this.settled();
        continue;
      }
      // A write waiting in exclusive() goes first: back-to-back flushes (forwarded writes
      // arrive as a stream) would otherwise keep it waiting batch after batch.
      if (this.#paused > 0) {
        await new Promise<void>((resolve) => this.#unpaused.push(resolve));
        continue;
      }
      const error = await this.#runBatch();
      if (error) throw error;
    }
  }

  /**
   * Resolves once every entry accepted so far is committed (or handed on by drain()), on the
   * funnel's own schedule: unlike flush() it starts no transaction, so callers arriving close
   * together share one (forwarded writes, where a transaction on LiteFS costs a FUSE round
   * trip). Rejects with the error of a failed transaction that held those entries.
   */
  committed(): Promise<void> {
    return this.#queue.committed();
  }

  /** Ends one pause; the last one lets waiting flush() calls go, and (unless draining) the timer. */
  #unpause(schedule = true): void {
    this.#paused -= 1;
    if (this.#paused > 0) return;
    for (const resolve of this.#unpaused.splice(0)) resolve();
    // At once if due: the thread sat idle for the pause, and a timer waits for the event loop.
    if (schedule) this.#schedule(true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.stopAccepting();
    this.#clearTimer();
    await this.settled();
    if (this.#queue.length > 0) await this.#runBatch();
    this.#queue.close(new ShardlineError('CLOSED', `Write funnel closed with ${this.#queue.length} entries it could not commit`));
    const worker = this.#worker;
    this.#worker = null;
    await worker?.close();
  }

  /**
   * Takes every entry not committed out of the queue, oldest first. A batch in flight is
   * waited for: it is returned only if its transaction failed.
   */
  async drain(): Promise<WriteEntry[]> {
    this.#clearTimer();
    this.#paused += 1;
    try {
      await this.settled();
    } finally {
      this.#unpause(false);
    }
    this.#retryAt = 0;
    return this.#queue.takeAll();
  }

  #batchRowsLimit(): number {
    return batchRowsLimit({ maxBatchRows: this.#maxBatchRows, highWaterRows: this.#highWaterRows, intervalMs: this.#intervalMs, lastTransactionMs: this.#lastTransactionMs });
  }

  stats(): WriteFunnelStats {
    return { ...this.#stats, batchRowsLimit: this.#batchRowsLimit(), thread: this.#inline === null, threadHeapBytes: this.#worker?.heapUsedBytes ?? null, mergedEntries: this.#queue.folded, queuedEntries: this.#queue.length, queuedRows: this.#queue.rows, highWaterRows: this.#highWaterRows, blockedEnqueues: this.#queue.held };
  }

  /** A new entry was queued (not folded): schedule a batch, or send the next one ahead if it is full. */
  #onQueued(): void {
    if (this.#flights.length === 0) return this.#schedule();
    if (this.#aheadPending || this.#flights.length > 1 || this.#queue.unsentRows < this.#batchRowsLimit()) return;
    // Not from inside enqueue(): sending reports stale entries to listeners, which may act on the shard.
    this.#aheadPending = true;
    queueMicrotask(() => {
      this.#aheadPending = false;
      this.#schedule();
    });
  }

  /**
   * With nothing out: a timer for the next batch, or (`now`: right after a batch came back or a
   * pause ended) the batch itself when it is due at once: a timer would wait for the event loop
   * to go round, and while shards' sockets hold data that is a full read of each. With one batch out: the
   * next, once it is full, so the thread goes on to it without waiting for this thread.
   */
  #schedule(now = false): void {
    if (!this.#started || this.#closed || this.#paused > 0 || this.#returning) return;
    if (this.#flights.length > 0) return this.#sendAhead();
    if (this.#queue.length === 0) return;
    const at = this.#clock.now();
    const soon = nextFlushAt({ now: at, queuedRows: this.#queue.rows, intervalMs: this.#intervalMs, thresholdRows: this.#thresholdRows, afterTransactionMs: this.#afterTransactionMs });
    this.#afterTransactionMs = null;
    const due = Math.max(soon, this.#retryAt);
    if (now && due <= at) {
      void this.#runBatch();
      return;
    }
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    this.#clearTimer();
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#flights.length === 0 && this.#paused === 0) void this.#runBatch();
    }, Math.max(0, due - at));
  }

  #sendAhead(): void {
    if (this.#flights.length !== 1 || !this.#flights[0]!.onThread || this.#queue.unsentRows < this.#batchRowsLimit()) return;
    if (this.#inline || !this.#threadReady || !this.#worker?.running || this.#o.writesHeld?.()) return;
    void this.#runBatch(true);
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Sends the oldest unsent entries as one transaction (`ahead`: while the batch before it is
   * still out); resolves with the failure (already reported), or null.
   */
  #runBatch(ahead = false): Promise<ShardlineError | null> {
    this.#clearTimer();
    const flight: Flight = { done: Promise.resolve(null), onThread: false };
    this.#flights.push(flight);
    flight.done = this.#send(flight, ahead).finally(() => {
      this.#flights.splice(this.#flights.indexOf(flight), 1);
      if (this.#flights.length === 0 && this.#returning) {
        this.#returning = false;
        this.#queue.returnSent();
      }
      this.#schedule(true);
    });
    return flight.done;
  }

  async #send(flight: Flight, ahead: boolean): Promise<ShardlineError | null> {
    if (this.#queue.sent >= this.#queue.length) return null;
    const before = ahead ? this.#flights[this.#flights.indexOf(flight) - 1] : undefined;
    const { batch, rows: batchRows } = this.#queue.take(this.#batchRowsLimit());
    const sentMs = performance.now();
    const sentAt = this.#clock.now();
    // The epoch can go stale between enqueue and commit (a move happened meanwhile).
    const kept: WriteEntry[] = [];
    for (const entry of batch) {
      if (this.#queue.fenceAccepts(entry)) kept.push(entry);
      else {
        this.#stats.staleRejected += 1;
        this.#report(staleError(entry));
      }
    }
    let outcome: TransactionOutcome;
    if (this.#o.writesHeld?.()) {
      outcome = { ok: false, sqliteCode: 'SQLITE_BUSY', message: 'writes are held while the primary role is handed over' };
    } else if (kept.length === 0) {
      outcome = { ok: true, committedRows: 0, sessions: [], dropped: [], stale: [] };
    } else if (this.#inline || !this.#threadReady) {
      const inline = this.#inline ?? (this.#startupInline ??= { db: this.#o.fallbackDb!, applier: new MutationApplier(this.#o.fallbackDb!), checkpoints: true });
      const now = this.#clock.now();
      outcome = outcomeOf(() => {
        // That connection left checkpoints to the thread; now it is the one that commits.
        if (!inline.checkpoints) inline.db.exec(`PRAGMA wal_autocheckpoint = ${walAutocheckpointPagesFor(inline.db, DEFAULT_WAL_AUTOCHECKPOINT_BYTES)}`);
        inline.checkpoints = true;
        return applyBatch(inline.db, inline.applier, kept, now, { fenced: this.#o.fence !== undefined });
      });
    } else {
      // A thread that died (out of memory, a native crash) is replaced: its batch was reported
      // failed and is still queued, so the new thread commits it.
      if (this.#worker && !this.#worker.running) {
        this.#worker = null;
        this.#stats.threadRestarts += 1;
      }
      this.#worker ??= this.#o.workers({ databasePath: this.#o.databasePath, ...(this.#o.failNext ? { failNext: this.#o.failNext } : {}) });
      flight.onThread = true;
      outcome = await this.#worker.run({ packed: packEntries(kept), now: this.#clock.now(), fenced: this.#o.fence !== undefined, ...(ahead ? { afterPrevious: true } : {}) });
      if (outcome.ok) this.#threadCommitted = true;
    }
    // Outcomes are taken in the order the batches went out: the queue's head is the older batch's.
    if (before) await before.done;
    // A batch sent ahead waited on the thread for the one before it: its own time starts when that one ended.
    const startedMs = Math.max(sentMs, this.#lastEndedMs);
    const startedAt = Math.max(sentAt, this.#lastEndedAt);
    this.#lastEndedMs = performance.now();
    this.#lastEndedAt = this.#clock.now();
    if (!outcome.ok) {
      // Behind a failed batch: it did not run (or failed with it); it goes back unsent, unreported.
      if (this.#returning || outcome.notRun === true) {
        this.#returning = true;
        return null;
      }
      this.#returning = true;
      if (flight.onThread && outcome.sqliteCode === undefined && !this.#threadCommitted) await this.#threadFailedToStart(outcome.message);
      return this.#failed(outcome, batch.length, batchRows);
    }
    const durationMs = this.#lastEndedMs - startedMs;
    // On the funnel's clock (tests drive it), like the schedule these durations feed.
    this.#lastTransactionMs = this.#lastEndedAt - startedAt;
    this.#afterTransactionMs = this.#lastTransactionMs;
    // Entries enqueued while the batch was out stay queued for the next one.
    this.#queue.removeHead(batch.length, batchRows);
    const s = this.#stats;
    for (const drop of outcome.dropped) {
      s.droppedEntries += 1;
      this.#report(droppedWriteError(kept[drop.index]!, drop));
    }
    for (const index of outcome.stale) {
      s.staleRejected += 1;
      this.#report(staleError(kept[index]!));
    }
    const mutations = batch.reduce((n, e) => n + e.mutations.length, 0);
    const committed = kept.length - outcome.dropped.length - outcome.stale.length;
    const info: FlushInfo = { entries: committed, mutations, rows: outcome.committedRows, shards: new Set(batch.map((e) => e.shardId)).size, durationMs };
    s.transactions += 1;
    s.committedEntries += committed;
    s.committedRows += outcome.committedRows;
    s.lastBatch = info;
    s.maxBatchMutations = Math.max(s.maxBatchMutations, mutations);
    s.totalFlushMs += durationMs;
    s.consecutiveFailures = 0;
    s.lastError = null;
    this.#retryAt = 0;
    this.#notify(() => this.#o.flushListener?.(info));
    for (const [shardId, session] of outcome.sessions) this.#notify(() => this.#o.commitListener?.(shardId, session.seq));
    return null;
  }

  /** A thread that dies before its first commit, twice, will not work here: fall back to the event loop. */
  async #threadFailedToStart(reason: string): Promise<void> {
    this.#threadStartFailures += 1;
    if (this.#threadStartFailures < 2 || !this.#o.fallbackDb) return;
    const worker = this.#worker;
    this.#worker = null;
    await worker?.close();
    this.#inline = { db: this.#o.fallbackDb, applier: new MutationApplier(this.#o.fallbackDb), checkpoints: false };
    this.#report(
      new ShardlineError('INTERNAL', `The write funnel's transaction thread could not start (${reason}); committing on the event loop from now on (SHARDLINE_WRITE_FUNNEL=inline does so from the start)`),
    );
  }

  #failed(outcome: { sqliteCode: string | undefined; message: string }, entries: number, rows: number): ShardlineError {
    const code = outcome.sqliteCode ?? 'unknown error';
    const wrapped = new ShardlineError(
      'STORE_UNAVAILABLE',
      `Cannot commit ${entries} queued writes (${rows} rows) to ${this.#o.databasePath}: ${code}: ${outcome.message}; kept queued, retrying`,
      { details: { sqliteCode: code, queuedEntries: this.#queue.length } },
    );
    const s = this.#stats;
    s.failedTransactions += 1;
    s.consecutiveFailures += 1;
    s.lastError = { code: wrapped.code, message: wrapped.message };
    const delay = Math.max(this.#intervalMs, backoffDelay(s.consecutiveFailures - 1, this.#o.retryBaseMs ?? 100, this.#o.retryMaxMs ?? 5000, this.#o.random));
    this.#retryAt = this.#clock.now() + delay;
    this.#report(wrapped);
    this.#queue.failed(wrapped);
    return wrapped;
  }

  #report(error: ShardlineError): void {
    this.#notify(() => this.#o.errorListener?.(error));
  }

  #notify(call: () => void): void {
    try {
      call();
    } catch {
      // A listener's own failure must not break the writer.
    }
  }
}

/** A batch out: `done` resolves once it came back (committed, failed or refused). */
interface Flight {
  done: Promise<ShardlineError | null>;
  /** Posted to the thread (only those can have a batch sent ahead of their outcome). */
  onThread: boolean;
}

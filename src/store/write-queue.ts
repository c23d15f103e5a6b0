import { ShardlineError } from '../core/errors.ts';
import type { WriteEntry } from '../core/mutation.ts';
import { isEntryShape, rowsOf, staleError } from './apply-batch.ts';

/**
 * The writers' defaults, shared by both funnels and the forwarding writer so that a replica
 * holds back on the same mark as the primary: flush this long after the first pending entry,
 * at once at this many rows, hold enqueue() at the high-water mark, send at most this many
 * rows per batch.
 */
export const WRITE_DEFAULTS = { flushIntervalMs: 50, flushThresholdRows: 10_000, highWaterRows: 50_000, maxBatchRows: 20_000 } as const;

export interface WriteQueueOptions {
  /** enqueue() holds its caller while this many rows or more are queued. */
  readonly highWaterRows: number;
  /** Returns false when (shardId, epoch) is no longer the shard's assignment. */
  readonly fence?: (shardId: number, epoch: number, generation?: number) => boolean;
  /**
   * Fold an entry without rows into its shard's last entry not yet taken for a batch. Most
   * dispatches change no row (messages, typing) and only move the shard's seq: carrying the
   * later session on the queued entry commits exactly what applying both would.
   */
  readonly fold: boolean;
  /** An entry was refused because its epoch is stale. */
  readonly onStale: () => void;
  /** An entry was queued (not folded): the funnel schedules its flush. */
  readonly onQueued: () => void;
}

interface Held {
  resolve(): void;
  reject(error: unknown): void;
}

/** A caller of committed(): released once `removed` reaches `upTo`. */
interface Committing extends Held {
  readonly upTo: number;
}

/**
 * The queue both write funnels keep: what waits, how many rows it holds, who is held back by
 * the high-water mark (back-pressure), and who waits for a commit. Entries leave it only from
 * the head, in the order they came, so two counters (pushed, removed) say how far it has gone.
 */
export class WriteQueue {
  readonly #o: WriteQueueOptions;
  #entries: WriteEntry[] = [];
  #rows = 0;
  /**
   * Per shard set (generation, undefined for the active one) and shard, the index of the shard's
   * last entry still open to folding. Numbers as keys: a string key cost an allocation per event.
   */
  readonly #tail = new Map<number | undefined, Map<number, number>>();
  /** Entries (and their rows) at the head taken for batches that have not come back. */
  #sent = 0;
  #sentRows = 0;
  #pushed = 0;
  #removed = 0;
  #folded = 0;
  #held: Held[] = [];
  readonly #committing: Committing[] = [];
  #closed = false;

  constructor(options: WriteQueueOptions) {
    this.#o = options;
  }

  get length(): number {
    return this.#entries.length;
  }

  get rows(): number {
    return this.#rows;
  }

  /** enqueue() calls currently held back by the high-water mark. */
  get held(): number {
    return this.#held.length;
  }

  get folded(): number {
    return this.#folded;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Accepts the entry at once, or declines and changes nothing (full, stale, closed, malformed). */
  offer(entry: WriteEntry): boolean {
    if (this.#closed || this.#rows >= this.#o.highWaterRows || !isEntryShape(entry) || !this.fenceAccepts(entry)) return false;
    this.#push(entry);
    return true;
  }

  /**
   * Accepts at once while the queue is below the mark before this entry (offer() declines on
   * the same test); otherwise queues it and holds the caller until a commit makes room.
   */
  enqueue(entry: WriteEntry): Promise<void> {
    if (this.offer(entry)) return Promise.resolve();
    if (this.#closed) return Promise.reject(new ShardlineError('CLOSED', `Cannot accept writes for shard ${entry.shardId}: the write funnel is closed`));
    // Local entries are trusted; forwarded ones went through parseWriteEntry. This only keeps a
    // wrong shape from throwing out of enqueue or poisoning the queue.
    if (!isEntryShape(entry)) {
      return Promise.reject(new ShardlineError('INVALID_INPUT', 'Cannot accept write: an entry needs integer shardId and epoch and a mutations array'));
    }
    if (!this.fenceAccepts(entry)) {
      this.#o.onStale();
      return Promise.reject(staleError(entry));
    }
    // Declined for the one reason left: the queue is full. A folded entry adds no row.
    if (this.#push(entry)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#held.push({ resolve, reject }));
  }

  /**
   * The oldest entries not yet sent, at most `maxRows` rows of them (always at least one entry;
   * an entry is never split). They are sent from now on (a second batch may be taken while the
   * first is on its way) and no longer folded into; they stay queued until removeHead(), or
   * returnSent() gives them back after a failure.
   */
  take(maxRows: number): { readonly batch: WriteEntry[]; readonly rows: number } {
    const from = this.#sent;
    let end = from;
    let rows = 0;
    while (end < this.#entries.length && (end === from || rows + rowsOf(this.#entries[end]!) <= maxRows)) {
      rows += rowsOf(this.#entries[end]!);
      end += 1;
    }
    for (const shards of this.#tail.values()) for (const [shardId, index] of shards) if (index < end) shards.delete(shardId);
    this.#sent = end;
    this.#sentRows += rows;
    return { batch: this.#entries.slice(from, end), rows };
  }

  /** Entries taken for batches still out, at the head of the queue. */
  get sent(): number {
    return this.#sent;
  }

  /** Rows not yet taken for a batch: what the next one can carry. */
  get unsentRows(): number {
    return this.#rows - this.#sentRows;
  }

  /** Every batch out came back without committing: its entries are unsent again, in order. */
  returnSent(): void {
    this.#sent = 0;
    this.#sentRows = 0;
  }

  /** The first `count` entries (taken, in that order) were committed or refused for good: they leave the queue. */
  removeHead(count: number, rows: number): void {
    this.#entries = this.#entries.slice(count);
    for (const shards of this.#tail.values()) for (const [shardId, index] of shards) shards.set(shardId, index - count);
    this.#rows -= rows;
    this.#sent = Math.max(0, this.#sent - count);
    this.#sentRows = Math.max(0, this.#sentRows - rows);
    this.#removed += count;
    while (this.#held.length > 0 && this.#rows < this.#o.highWaterRows) this.#held.shift()!.resolve();
    this.#releaseCommitted();
  }

  /** A transaction holding the oldest entries failed: those waiting for a commit hear why. */
  failed(error: unknown): void {
    for (const waiting of this.#committing.splice(0)) waiting.reject(error);
  }

  /** Takes every entry out, oldest first (they are handed on, not lost): everyone waiting goes. */
  takeAll(): WriteEntry[] {
    const entries = this.#entries;
    this.#entries = [];
    this.#tail.clear();
    this.#rows = 0;
    this.#sent = 0;
    this.#sentRows = 0;
    this.#removed += entries.length;
    for (const held of this.#held.splice(0)) held.resolve();
    this.#releaseCommitted();
    return entries;
  }

  /** Refuses every new entry from now on (a closing funnel still commits what it has). */
  stopAccepting(): void {
    this.#closed = true;
  }

  /** Refuses everything from now on; those held or waiting for a commit get `error`. */
  close(error: ShardlineError): void {
    this.#closed = true;
    for (const held of this.#held.splice(0)) held.reject(error);
    this.failed(error);
  }

  /** How many entries were ever queued: flush() waits until removed() reaches it. */
  get pushed(): number {
    return this.#pushed;
  }

  get removed(): number {
    return this.#removed;
  }

  /** Resolves once every entry queued so far has left the queue; see the funnels' committed(). */
  committed(): Promise<void> {
    if (this.#closed) return Promise.reject(new ShardlineError('CLOSED', 'Cannot wait for a commit: the write funnel is closed'));
    const upTo = this.#pushed;
    if (this.#removed >= upTo) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#committing.push({ upTo, resolve, reject }));
  }

  /** Callers come in the order `pushed` grew, so the released ones are at the front. */
  #releaseCommitted(): void {
    while (this.#committing.length > 0 && this.#committing[0]!.upTo <= this.#removed) this.#committing.shift()!.resolve();
  }

  /** True when the entry was folded into its shard's last open entry (no row added). */
  #push(entry: WriteEntry): boolean {
    if (this.#fold(entry)) return true;
    if (this.#o.fold) {
      let shards = this.#tail.get(entry.generation);
      if (!shards) this.#tail.set(entry.generation, (shards = new Map()));
      shards.set(entry.shardId, this.#entries.length);
    }
    this.#entries.push(entry);
    this.#rows += rowsOf(entry);
    this.#pushed += 1;
    this.#o.onQueued();
    return false;
  }

  /** Counted as neither pushed nor removed: the entry it joined carries it through the queue. */
  #fold(entry: WriteEntry): boolean {
    if (!this.#o.fold || entry.mutations.length > 0 || !entry.session) return false;
    // During a reshard two sets share shard ids: a session folds only into its own set's entry.
    const index = this.#tail.get(entry.generation)?.get(entry.shardId);
    if (index === undefined) return false;
    const last = this.#entries[index];
    if (!last || last.shardId !== entry.shardId || last.epoch !== entry.epoch || last.generation !== entry.generation) return false;
    // The queue owns its entries (no batch holds this one: take() closed it to folding), so the
    // later session is set in place rather than on a copy made for every folded event.
    (last as { session?: WriteEntry['session'] }).session = entry.session;
    this.#folded += 1;
    return true;
  }

  /** False when the entry's epoch is no longer its shard's assignment; the funnels ask again at commit time. */
  fenceAccepts(entry: WriteEntry): boolean {
    return this.#o.fence ? this.#o.fence(entry.shardId, entry.epoch, entry.generation) : true;
  }
}

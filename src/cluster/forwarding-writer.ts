import { backoffDelay } from '../core/abort.ts';
import { ShardlineError } from '../core/errors.ts';
import type { WriteEntry, Writer } from '../core/mutation.ts';
import type { Logger } from '../core/ports.ts';
import { WRITE_DEFAULTS } from '../store/write-queue.ts';

/** What the primary answers to a forwarded batch: the entries it refused as stale (nothing of them written). */
export interface ForwardResult {
  readonly stale: readonly { readonly shardId: number; readonly epoch: number; readonly generation?: number }[];
}

export interface ForwardingWriterOptions {
  readonly nodeId: string;
  /** The current primary's base URL, or null while none is known (then writes wait). */
  readonly primaryUrl: () => string | null;
  readonly clusterSecret: string;
  readonly logger: Logger;
  /** Called once per stale (shard, epoch): the sender must stop that shard at once (contract 5). */
  readonly onStale: (shardId: number, epoch: number, generation?: number) => void;
  readonly fetch?: typeof fetch;
  readonly flushIntervalMs?: number;
  /** enqueue() waits above this many queued mutations. */
  readonly highWaterRows?: number;
  /** Largest batch sent at once, in mutations. */
  readonly maxBatchRows?: number;
  readonly requestTimeoutMs?: number;
}

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The write funnel of a replica (contract 4): entries are batched and POSTed to the
 * primary's internal route, one batch in flight at a time so a shard's writes keep their
 * order. A failed or refused send (primary changing, unreachable, not primary any more) is
 * retried against whoever is primary then; nothing is dropped except entries the primary
 * says are stale, whose shard is stopped.
 */
export class ForwardingWriter implements Writer {
  readonly #options: ForwardingWriterOptions;
  readonly #fetch: typeof fetch;
  readonly #log: Logger;
  #queue: WriteEntry[] = [];
  #queuedRows = 0;
  #blocked: Waiter[] = [];
  #flushWaiters: { upTo: number; waiter: Waiter }[] = [];
  #sentUpTo = 0;
  #enqueued = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #highWaterRows: number;
  #sending = false;
  /** The batch in flight waits for the primary's scheduled commit (?wait=batch). */
  #inFlightBatched = false;
  #failures = 0;
  #closed = false;
  #generation = 0;
  readonly #stale = new Set<string>();
  #stats = { batches: 0, entries: 0, failures: 0, staleRejected: 0 };

  constructor(options: ForwardingWriterOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#log = options.logger.child({ component: 'forwarding-writer' });
    this.#highWaterRows = options.highWaterRows ?? WRITE_DEFAULTS.highWaterRows;
  }

  offer(entry: WriteEntry): boolean {
    if (this.#closed || this.#queuedRows >= this.#highWaterRows || this.#stale.has(staleKey(entry))) return false;
    this.#push(entry);
    return true;
  }

  enqueue(entry: WriteEntry): Promise<void> {
    if (this.#closed) return Promise.reject(new ShardlineError('CLOSED', `Cannot forward writes of shard ${entry.shardId}: the writer is closed`));
    if (this.#stale.has(staleKey(entry))) {
      return Promise.reject(new ShardlineError('STALE_EPOCH', `Shard ${entry.shardId} epoch ${entry.epoch} is stale: the shard was reassigned`, { details: { shardId: entry.shardId, epoch: entry.epoch, ...(entry.generation === undefined ? {} : { generation: entry.generation }) } }));
    }
    // The funnels' rule: accepted at once while the queue is below the mark before this entry
    // (offer() declines on the same test), otherwise queued and held until a send makes room.
    const full = this.#queuedRows >= this.#highWaterRows;
    this.#push(entry);
    if (!full) return Promise.resolve();
    return new Promise((resolve, reject) => this.#blocked.push({ resolve, reject }));
  }

  #push(entry: WriteEntry): void {
    this.#queue.push(entry);
    this.#queuedRows += rows(entry);
    this.#enqueued += 1;
    this.#schedule(this.#options.flushIntervalMs ?? WRITE_DEFAULTS.flushIntervalMs);
  }

  /** Resolves once everything enqueued so far was acknowledged by a primary. */
  flush(): Promise<void> {
    if (this.#queue.length === 0 && !this.#sending) return Promise.resolve();
    const upTo = this.#enqueued;
    const done = new Promise<void>((resolve, reject) => this.#flushWaiters.push({ upTo, waiter: { resolve, reject } }));
    if (this.#sending && this.#inFlightBatched) this.#nudge();
    this.#schedule(0);
    return done;
  }

  /** The primary changed (or became known): send what waits now instead of after the retry backoff. */
  retryNow(): void {
    if (this.#closed || this.#sending || this.#queue.length === 0) return;
    this.#failures = 0;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#schedule(0);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const pending = this.flush();
    const timeout = new Promise<'timeout'>((resolve) => {
      const t = setTimeout(() => resolve('timeout'), 5_000);
      void pending.finally(() => clearTimeout(t)).catch(() => {});
    });
    const outcome = await Promise.race([pending.then(() => 'flushed' as const, () => 'failed' as const), timeout]);
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const error = new ShardlineError('CLOSED', `Forwarding writer closed with ${this.#queue.length} entries not acknowledged (${outcome})`);
    if (this.#queue.length > 0) this.#log.warn({ entries: this.#queue.length }, 'closing with unacknowledged writes; their shards resume from the last committed seq');
    for (const w of this.#blocked.splice(0)) w.reject(error);
    for (const f of this.#flushWaiters.splice(0)) f.waiter.reject(error);
  }

  /**
   * Takes every entry not yet acknowledged (the one in flight included), oldest first: a node
   * that became primary applies them itself. Re-applying one the old primary did commit is
   * harmless, since mutations are idempotent and a session's seq never moves backwards.
   */
  takeAll(): WriteEntry[] {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const entries = this.#queue;
    this.#queue = [];
    this.#queuedRows = 0;
    this.#sentUpTo += entries.length;
    // The in-flight batch, if any, is ignored when it returns (its entries were taken here).
    this.#generation += 1;
    for (const w of this.#blocked.splice(0)) w.resolve();
    this.#flushWaiters = this.#flushWaiters.filter(({ upTo, waiter }) => {
      if (this.#sentUpTo >= upTo) {
        waiter.resolve();
        return false;
      }
      return true;
    });
    return entries;
  }

  stats(): { queuedEntries: number; queuedRows: number; batches: number; entries: number; failures: number; staleRejected: number } {
    return { queuedEntries: this.#queue.length, queuedRows: this.#queuedRows, ...this.#stats };
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#sending || this.#queue.length === 0) return;
    if (this.#timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#send();
    }, delayMs);
  }

  async #send(): Promise<void> {
    const url = this.#options.primaryUrl();
    if (url === null) {
      this.#retryLater('no primary is known');
      return;
    }
    const max = this.#options.maxBatchRows ?? WRITE_DEFAULTS.maxBatchRows;
    let count = 0;
    let batchRows = 0;
    while (count < this.#queue.length && (count === 0 || batchRows + rows(this.#queue[count]!) <= max)) batchRows += rows(this.#queue[count++]!);
    const batch = this.#queue.slice(0, count);
    const generation = this.#generation;
    // Someone waits in flush() (a detach, a close): the primary commits at once. Otherwise the
    // batch rides the primary's next scheduled transaction with everyone else's.
    const wait = this.#flushWaiters.length > 0 ? '' : '?wait=batch';
    this.#inFlightBatched = wait !== '';
    this.#sending = true;
    try {
      const response = await this.#post(`${url}/internal/writes${wait}`, batch);
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        throw new Error(`primary ${url} answered ${response.status}: ${text.slice(0, 300)}`);
      }
      const result = (await response.json()) as ForwardResult;
      if (generation === this.#generation) this.#acknowledge(count, batchRows, result);
    } catch (error) {
      this.#sending = false;
      if (generation === this.#generation) this.#retryLater((error as Error).message);
      else this.#schedule(0);
      return;
    }
    this.#sending = false;
    this.#schedule(this.#queue.length > 0 ? 0 : (this.#options.flushIntervalMs ?? WRITE_DEFAULTS.flushIntervalMs));
  }

  #acknowledge(count: number, batchRows: number, result: ForwardResult): void {
    this.#queue = this.#queue.slice(count);
    this.#queuedRows -= batchRows;
    this.#sentUpTo += count;
    this.#failures = 0;
    this.#stats.batches += 1;
    this.#stats.entries += count;
    for (const { shardId, epoch, generation } of result.stale ?? []) {
      const key = staleKey({ shardId, epoch, generation });
      if (this.#stale.has(key)) continue;
      this.#stale.add(key);
      this.#stats.staleRejected += 1;
      this.#log.warn({ shardId, epoch }, 'primary refused a stale epoch; stopping the shard');
      // Later entries of the same (shard, epoch) are stale too: drop them rather than send them.
      const before = this.#queue.length;
      this.#queue = this.#queue.filter((e) => staleKey(e) !== key);
      this.#sentUpTo += before - this.#queue.length;
      this.#queuedRows = this.#queue.reduce((n, e) => n + rows(e), 0);
      this.#options.onStale(shardId, epoch, generation);
    }
    while (this.#blocked.length > 0 && this.#queuedRows < this.#highWaterRows) this.#blocked.shift()!.resolve();
    this.#flushWaiters = this.#flushWaiters.filter(({ upTo, waiter }) => {
      if (this.#sentUpTo >= upTo) {
        waiter.resolve();
        return false;
      }
      return true;
    });
  }

  /**
   * Someone flush()es while a routine batch waits for the primary's scheduled commit: an empty
   * send without ?wait=batch makes the primary commit now, that batch included. Order is kept
   * (it carries no entry); if it fails, the batch still commits on schedule.
   */
  #nudge(): void {
    const url = this.#options.primaryUrl();
    if (url === null) return;
    this.#inFlightBatched = false;
    this.#post(`${url}/internal/writes`, []).then(
      (response) => void response.body?.cancel(),
      (error: unknown) => this.#log.debug({ err: (error as Error).message }, 'could not ask the primary to commit now; the batch commits on schedule'),
    );
  }

  #post(url: string, entries: readonly WriteEntry[]): Promise<Response> {
    return this.#fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#options.clusterSecret}` },
      body: JSON.stringify({ nodeId: this.#options.nodeId, entries }),
      signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 10_000),
    });
  }

  #retryLater(reason: string): void {
    this.#failures += 1;
    this.#stats.failures += 1;
    const delay = Math.max(20, backoffDelay(this.#failures - 1, 50, 2_000));
    if (this.#failures === 1 || this.#failures % 20 === 0) {
      this.#log.warn({ reason, queued: this.#queue.length, attempt: this.#failures, retryInMs: delay }, 'cannot forward writes to the primary; retrying');
    }
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#send();
    }, delay);
  }
}

function rows(entry: WriteEntry): number {
  return entry.mutations.length + (entry.session ? 1 : 0);
}

/** One (set, shard, epoch): the two sets of a reshard share shard ids. */
function staleKey(entry: { shardId: number; epoch: number; generation?: number | undefined }): string {
  return `${entry.generation ?? ''}:${entry.shardId}:${entry.epoch}`;
}

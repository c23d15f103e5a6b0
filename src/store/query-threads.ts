/**
 * Runs the query API's SQL on query threads (a child process per thread, on Node and Deno)
 * with their own read-only connections, so no query can stop the event loop. SQLite
 * cannot be interrupted inside a step (a sort, an aggregate, a recursive CTE before its first
 * row), so a query that passes its time limit by more than a grace period is answered with
 * TIMEOUT and its thread is stopped. A stopped thread holds its slot until it is gone (a killed
 * process goes at once; a port whose threads cannot be stopped inside a step would hold it),
 * which bounds the cores runaway queries can burn to `maxConcurrent`.
 */
import { ERROR_CODES, ShardlineError, abortReason, type ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import type { QueryReply, QueryWorker, QueryWorkerFactory } from '../core/query-worker.ts';
import { READ_ONLY_QUERY_DEFAULTS, type ReadOnlyQueryResult } from './queries.ts';

export interface QueryThreadsOptions {
  readonly databasePath: string;
  readonly workers: QueryWorkerFactory;
  /** Threads at most, running or stopping an abandoned query (default 1): each can hold a core. */
  readonly maxConcurrent?: number;
  /** How long past its time limit a query may take to answer before its thread is stopped (default 1000 ms). */
  readonly graceMs?: number;
  /** An idle thread (and its connection) is closed after this long without a query (default 60 000 ms). */
  readonly idleMs?: number;
  /** How long a thread may take to start a query it was sent: start-up and opening its connection (default 30 000 ms). */
  readonly startTimeoutMs?: number;
  /** Resident memory a thread may reach before it is stopped and its query answered TOO_LARGE (default 512 MiB). */
  readonly maxMemoryBytes?: number;
  readonly logger?: Logger;
}

export interface QueryThreadsStats {
  readonly running: number;
  readonly waiting: number;
  /** Threads stopped past their time limit that are still inside a SQLite step. */
  readonly abandoned: number;
  readonly abandonedTotal: number;
}

interface Abandoned {
  readonly since: number;
  readonly timeoutMs: number;
}

interface Waiter {
  readonly grant: () => void;
  readonly fail: (error: unknown) => void;
}

const KNOWN_CODES = new Set<string>(ERROR_CODES);

export const DEFAULT_QUERY_MEMORY_BYTES = 512 * 1024 * 1024;

export interface QueryLimits {
  readonly maxRows: number;
  readonly timeoutMs: number;
  /** The result's size as JSON at most (src/store/result-json.ts); default READ_ONLY_QUERY_DEFAULTS.maxBytes. */
  readonly maxBytes?: number;
}

/** A result as POST /query answers it, written by the thread: the node passes the bytes on. */
export interface EncodedQueryResult {
  /** UTF-8 JSON `{"columns":[...],"rows":[...],"truncated":...}`; null when the time limit stopped the scan. */
  readonly json: Uint8Array | null;
  readonly rowCount: number;
  readonly truncated: boolean;
  readonly timedOut: boolean;
}

export class QueryThreads {
  readonly #o: QueryThreadsOptions;
  readonly #maxConcurrent: number;
  readonly #graceMs: number;
  readonly #startTimeoutMs: number;
  readonly #idle: QueryWorker[] = [];
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #idleMs: number;
  readonly #running = new Set<QueryWorker>();
  readonly #abandoned = new Map<QueryWorker, Abandoned>();
  readonly #waiters: Waiter[] = [];
  /** Slots held: by a query from its grant to its answer, and by an abandoned thread until it exits. */
  #held = 0;
  #abandonedTotal = 0;
  #closed = false;

  constructor(options: QueryThreadsOptions) {
    this.#o = options;
    this.#maxConcurrent = options.maxConcurrent ?? 1;
    this.#graceMs = options.graceMs ?? 1000;
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.#idleMs = options.idleMs ?? 60_000;
    if (!Number.isInteger(this.#maxConcurrent) || this.#maxConcurrent < 1) {
      throw new ShardlineError('INVALID_CONFIG', `Query threads: maxConcurrent must be a positive integer, got ${this.#maxConcurrent}`);
    }
  }

  stats(): QueryThreadsStats {
    return { running: this.#running.size, waiting: this.#waiters.length, abandoned: this.#abandoned.size, abandonedTotal: this.#abandonedTotal };
  }

  /** Runs one read-only statement on a thread; rejects with the thread's error, TIMEOUT, or STORE_UNAVAILABLE when every slot holds an abandoned query. */
  async run(sql: string, params: QueryRequestParams, limits: QueryLimits, signal?: AbortSignal): Promise<ReadOnlyQueryResult> {
    const reply = await this.#run(sql, params, limits, 'rows', signal);
    if ('json' in reply) throw new ShardlineError('INTERNAL', 'The query thread answered JSON where rows were asked for');
    return { columns: reply.columns, rows: reply.rows, truncated: reply.truncated, timedOut: reply.timedOut, bytes: reply.bytes };
  }

  /** As run(), but the thread writes the result as POST /query's JSON, so the node never parses or serializes it. */
  async runJson(sql: string, params: QueryRequestParams, limits: QueryLimits, signal?: AbortSignal): Promise<EncodedQueryResult> {
    const reply = await this.#run(sql, params, limits, 'json', signal);
    if (!('json' in reply)) throw new ShardlineError('INTERNAL', 'The query thread answered rows where JSON was asked for');
    return { json: reply.json, rowCount: reply.rowCount, truncated: reply.truncated, timedOut: reply.timedOut };
  }

  async #run(sql: string, params: QueryRequestParams, limits: QueryLimits, format: 'rows' | 'json', signal: AbortSignal | undefined): Promise<Extract<QueryReply, { ok: true }>> {
    const started = Date.now();
    await this.#acquire(limits.timeoutMs, signal);
    let worker: QueryWorker;
    try {
      worker = this.#idle.pop() ?? this.#o.workers({ databasePath: this.#o.databasePath, maxMemoryBytes: this.#o.maxMemoryBytes ?? DEFAULT_QUERY_MEMORY_BYTES });
      if (this.#idle.length === 0) this.#clearIdleTimer();
    } catch (error) {
      this.#release();
      throw new ShardlineError('INTERNAL', `Cannot run query: the query thread did not start: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    this.#running.add(worker);
    // The time spent waiting for the slot counts against the caller's limit.
    const timeoutMs = Math.max(1, limits.timeoutMs - (Date.now() - started));
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onStarted = (): void => {};
    // A new thread starts and opens its connection first: that is bounded apart, not charged to the query.
    const late = new Promise<'late' | 'no start'>((resolve) => {
      timer = setTimeout(() => resolve('no start'), this.#startTimeoutMs);
      onStarted = () => {
        clearTimeout(timer);
        timer = setTimeout(() => resolve('late'), timeoutMs + this.#graceMs);
      };
    });
    const reply = await Promise.race([worker.run({ sql, params, maxRows: limits.maxRows, timeoutMs, maxBytes: limits.maxBytes ?? READ_ONLY_QUERY_DEFAULTS.maxBytes, format }, () => onStarted()), late]);
    clearTimeout(timer);
    this.#running.delete(worker);
    if (reply === 'no start') {
      this.#abandon(worker, limits.timeoutMs, 'a query thread did not start its query in time; it was stopped');
      throw new ShardlineError('INTERNAL', `Cannot run query: the query thread did not start it within ${this.#startTimeoutMs} ms`);
    }
    if (reply === 'late') {
      this.#abandon(worker, limits.timeoutMs, 'query passed its time limit inside a SQLite step; its thread was stopped, and holds its query slot until it is gone');
      throw new ShardlineError(
        'TIMEOUT',
        `Query ran past its time limit of ${limits.timeoutMs} ms inside one SQLite step (no row came back to check the clock), so it was abandoned and its query thread stopped. Narrow the query (a LIMIT inside recursive CTEs, an indexed filter)`,
      );
    }
    // A thread that died is dropped; one that answered after close() was already told to stop.
    if (this.#closed) worker.terminate();
    else if (worker.running) {
      this.#idle.push(worker);
      this.#armIdleTimer();
    }
    this.#release();
    if (!reply.ok && this.#closed) throw new ShardlineError('CLOSED', 'Cannot run query: the query threads closed while it ran');
    return resultOf(reply);
  }

  /** Closes idle threads and stops the others; a thread inside a SQLite step ends when the step does (or with the process). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.fail(new ShardlineError('CLOSED', 'Cannot run query: the query threads are closing'));
    for (const worker of this.#running) worker.terminate();
    for (const worker of this.#abandoned.keys()) worker.terminate();
    this.#clearIdleTimer();
    await Promise.all(this.#idle.splice(0).map((worker) => worker.close()));
  }

  /** A node that answers a query now and then should not keep a thread and a page cache for it. */
  #armIdleTimer(): void {
    this.#clearIdleTimer();
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      for (const worker of this.#idle.splice(0)) void worker.close();
    }, this.#idleMs);
  }

  #clearIdleTimer(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  async #acquire(timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) throw new ShardlineError('CLOSED', 'Cannot run query: the query threads are closed');
    signal?.throwIfAborted();
    const refused = this.#refusal();
    if (refused) throw refused;
    // Waiters go first: a slot that frees is handed to the oldest one.
    if (this.#held < this.#maxConcurrent && this.#waiters.length === 0) {
      this.#held += 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
      };
      const waiter: Waiter = {
        grant: () => {
          done();
          resolve();
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => waiter.fail(abortReason(signal!));
      timer = setTimeout(
        () => waiter.fail(new ShardlineError('TIMEOUT', `Cannot run query: waited its whole time limit of ${timeoutMs} ms for a query thread, busy with ${this.#running.size} other quer${this.#running.size === 1 ? 'y' : 'ies'}`)),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Every slot is held by an abandoned thread: waiting would only run out the caller's time limit. */
  #refusal(): ShardlineError | null {
    if (this.#abandoned.size < this.#maxConcurrent) return null;
    const oldest = Math.min(...[...this.#abandoned.values()].map((a) => a.since));
    const limit = Math.max(...[...this.#abandoned.values()].map((a) => a.timeoutMs));
    return new ShardlineError(
      'STORE_UNAVAILABLE',
      `Cannot run query: ${this.#abandoned.size === 1 ? 'the query thread is' : `all ${this.#abandoned.size} query threads are`} still inside a query abandoned ${Math.round((Date.now() - oldest) / 1000)} s ago past its time limit of ${limit} ms (SQLite cannot interrupt a step); queries resume when it ends, or at once after this node restarts`,
      { details: { abandoned: this.#abandoned.size } },
    );
  }

  #release(): void {
    this.#held -= 1;
    while (this.#waiters.length > 0 && this.#held < this.#maxConcurrent) {
      this.#held += 1;
      this.#waiters[0]!.grant();
    }
  }

  #abandon(worker: QueryWorker, timeoutMs: number, why: string): void {
    this.#abandoned.set(worker, { since: Date.now(), timeoutMs });
    this.#abandonedTotal += 1;
    this.#o.logger?.warn({ timeoutMs, graceMs: this.#graceMs, abandoned: this.#abandoned.size }, why);
    worker.terminate();
    const refused = this.#refusal();
    if (refused) for (const waiter of [...this.#waiters]) waiter.fail(refused);
    void worker.exited.then(() => {
      this.#abandoned.delete(worker);
      this.#o.logger?.info({ abandoned: this.#abandoned.size }, 'abandoned query thread ended');
      this.#release();
    });
  }
}

type QueryRequestParams = readonly unknown[] | Readonly<Record<string, unknown>>;

function resultOf(reply: QueryReply): Extract<QueryReply, { ok: true }> {
  if (!reply.ok) {
    const code: ErrorCode = KNOWN_CODES.has(reply.code) ? (reply.code as ErrorCode) : 'INTERNAL';
    throw new ShardlineError(code, reply.message);
  }
  return reply;
}

/**
 * The port between the SQL query API (src/store/query-threads.ts) and a query thread (a child
 * process, on Node and on Deno) that owns a read-only connection and runs user SQL there.
 * Neither SQLite driver can interrupt a running statement, so a slow step (an aggregate over a
 * huge join, a runaway recursive CTE) must not run on the event loop: it would stop
 * heartbeats, shards and the HTTP API with it. Only `src/runtime/` implements this.
 */

export interface QueryRequest {
  readonly sql: string;
  readonly params: readonly unknown[] | Readonly<Record<string, unknown>>;
  readonly maxRows: number;
  /** The deadline the thread checks between rows. */
  readonly timeoutMs: number;
  /** The result's size as JSON at most; past it the thread answers TOO_LARGE (src/store/result-json.ts). */
  readonly maxBytes: number;
  /**
   * 'rows' (default): the values, for ctx.query(). 'json': the result already written as the
   * JSON POST /query answers, so the node sends the bytes on without parsing or serializing them.
   */
  readonly format?: 'rows' | 'json';
}

export type QueryReply =
  | {
      readonly ok: true;
      readonly columns: string[];
      readonly rows: unknown[][];
      readonly truncated: boolean;
      readonly timedOut: boolean;
      readonly bytes: number;
    }
  | {
      readonly ok: true;
      /** UTF-8 JSON `{"columns":[...],"rows":[...],"truncated":...}`; null when the time limit stopped the scan. */
      readonly json: Uint8Array | null;
      readonly rowCount: number;
      readonly truncated: boolean;
      readonly timedOut: boolean;
      readonly bytes: number;
    }
  | {
      readonly ok: false;
      /** A ShardlineError code from the thread (INVALID_INPUT, STORE_UNAVAILABLE...); INTERNAL when the thread died. */
      readonly code: string;
      readonly message: string;
    };

export interface QueryWorker {
  /** False once the thread has exited. */
  readonly running: boolean;
  /**
   * Resolves with the reply; never rejects (a dead thread is an `ok: false` reply). One query
   * at a time. `onStarted` fires when the thread begins the statement: a new thread first has
   * to start and open its connection, which is not the query's time.
   */
  run(request: QueryRequest, onStarted?: () => void): Promise<QueryReply>;
  /** Closes the thread's connection and waits until the thread has exited. */
  close(): Promise<void>;
  /** Stops the thread without waiting for it, inside a SQLite step too (a process is killed). */
  terminate(): void;
  /** Resolves when the thread is gone, and with it any step it was running. */
  readonly exited: Promise<void>;
}

export interface QueryWorkerOptions {
  readonly databasePath: string;
  /**
   * Resident memory the thread may reach; past it the thread is stopped and its query answered
   * with TOO_LARGE. One SQLite value can be hundreds of MB before a row comes back to check.
   */
  readonly maxMemoryBytes?: number;
}

/** How a runtime starts a query thread (Node and Deno: node:child_process fork). */
export type QueryWorkerFactory = (options: QueryWorkerOptions) => QueryWorker;

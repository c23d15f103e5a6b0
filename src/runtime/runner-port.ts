/** What the bodies of the transaction and query threads (transaction-runner.ts, query-runner.ts) get from their entry points. */
import type { SqliteDriver, SqliteDriverFactory } from '../core/sqlite.ts';

/** The thread's side of its channel: node:worker_threads' parentPort (Node and Deno), or a child process's IPC. */
export interface RunnerPort<Request, Reply> {
  on(event: 'message', listener: (request: Request) => void): unknown;
  postMessage(reply: Reply): void;
}

export interface RunnerOptions {
  readonly driverFactory: SqliteDriverFactory;
  /** Ends the thread once its connection is closed (Node: close the port or disconnect; Deno: close the worker). */
  readonly end: () => void;
}

/** A thread's answer to 'close': its connection first, then the thread itself, even if closing the connection threw. */
export function closeAndEnd(db: SqliteDriver | null, runner: RunnerOptions): void {
  try {
    db?.close();
  } finally {
    runner.end();
  }
}

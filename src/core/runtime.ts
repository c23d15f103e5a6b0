import type { GatewayTransport } from './ports.ts';
import type { SqliteDriverFactory } from './sqlite.ts';
import type { QueryWorkerFactory } from './query-worker.ts';
import type { TransactionWorkerFactory } from './transaction-worker.ts';

export interface HttpServerHandle {
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

export type FetchHandler = (request: Request) => Response | Promise<Response>;

/**
 * Everything shardline needs from the JavaScript runtime it runs on. Node and Deno each
 * supply one (`src/runtime/`); nothing outside `src/runtime/` branches on the runtime.
 */
export interface Runtime {
  readonly name: 'node' | 'deno';
  /** How a person runs the `shardline` command from this checkout (printed in hints). */
  readonly cliCommand: string;
  /** Arguments after the script, e.g. ['start', '--shards', '2']. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly hostname: string;
  readonly cwd: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** SIGINT/SIGTERM; returns the function that removes the listener. */
  onShutdownSignal(listener: (signal: string) => void): () => void;
  readonly transport: GatewayTransport;
  readonly sqlite: SqliteDriverFactory;
  /** Threads for the worker write funnel; a runtime without them always uses the inline funnel. */
  readonly transactionWorkers?: TransactionWorkerFactory;
  /** Threads for the SQL query API; without them queries run on the event loop (bounded only between rows). */
  readonly queryWorkers?: QueryWorkerFactory;
  /** Why a runtime that usually has `queryWorkers` has none this time (the host logs it at start). */
  readonly queryWorkersMissing?: string;
  serve(fetch: FetchHandler, options: { hostname: string; port: number }): Promise<HttpServerHandle>;
  /** CPU time of the calling thread in ms, where the platform tells (Linux); the event-loop stall monitor reads it. */
  readonly threadCpuMs?: () => number | null;
  /** A module specifier for `import()`: paths resolve against the working directory. */
  resolveModule(specifier: string): string;
}

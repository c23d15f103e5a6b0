/**
 * A QueryWorker over whatever runs query-runner.ts (a child process, query-processes.ts). This
 * side keeps the request/reply bookkeeping; the endpoint only carries messages and ends.
 */
import type { QueryReply, QueryWorker } from '../core/query-worker.ts';
import { closeWithin } from './close-within.ts';
import type { QueryRunnerReply, QueryRunnerRequest } from './query-runner.ts';

/**
 * The signal a query process's watchdog stops it with once it holds more memory than it may
 * (query-process.ts); its query is answered with TOO_LARGE. Node and Deno leave SIGUSR2 to its
 * default action, ending the process, unless asked for diagnostic reports on it.
 */
export const MEMORY_LIMIT_SIGNAL = 'SIGUSR2';

/** Gives the process this long to close its connection before it is stopped. */
const CLOSE_GRACE_MS = 5_000;

export interface QueryEndpoint {
  /** Throws when the message cannot be cloned (a parameter that is a function, say). */
  send(message: QueryRunnerRequest): void;
  onMessage(listener: (message: QueryRunnerReply) => void): void;
  onError(listener: (error: Error) => void): void;
  /** Once, when it has exited; `how` is e.g. "exit code 1" or "signal SIGKILL". */
  onExit(listener: (how: string) => void): void;
  /** Ends it without waiting, a SQLite step included (SIGKILL). */
  stop(): void;
}

export function queryChannel(endpoint: QueryEndpoint, options: { readonly maxMemoryBytes?: number } = {}): QueryWorker {
  const pending = new Map<number, (reply: QueryReply) => void>();
  const starting = new Map<number, () => void>();
  let nextId = 1;
  let gone = false;
  let deathReason = `the query process exited`;
  const exited = new Promise<void>((resolve) => endpoint.onExit(() => resolve()));

  endpoint.onMessage((message) => {
    if ('type' in message) {
      starting.get(message.id)?.();
      starting.delete(message.id);
      return;
    }
    const resolve = pending.get(message.id);
    pending.delete(message.id);
    resolve?.(message.reply);
  });
  endpoint.onError((error) => {
    deathReason = `the query process failed: ${error.message}`;
  });
  endpoint.onExit((how) => {
    gone = true;
    const reply: QueryReply =
      how === `signal ${MEMORY_LIMIT_SIGNAL}`
        ? {
            ok: false,
            code: 'TOO_LARGE',
            message: `Cannot run query: its query process passed its memory limit of ${Math.round((options.maxMemoryBytes ?? 0) / 2 ** 20)} MiB building a value or a result, and was stopped; select fewer or shorter values (a single value can be as large as the query makes it)`,
          }
        : { ok: false, code: 'INTERNAL', message: `${deathReason} (${how})` };
    for (const resolve of pending.values()) resolve(reply);
    pending.clear();
    starting.clear();
  });

  return {
    get running() {
      return !gone;
    },
    exited,
    run(request, onStarted) {
      if (gone) return Promise.resolve({ ok: false, code: 'INTERNAL', message: deathReason });
      const id = nextId++;
      return new Promise<QueryReply>((resolve) => {
        try {
          endpoint.send({ type: 'run', id, request });
        } catch (error) {
          // Parameters the structured clone refuses (functions, symbols) never get there.
          resolve({ ok: false, code: 'INVALID_INPUT', message: `Cannot run query: its parameters cannot be sent to the query process: ${error instanceof Error ? error.message : String(error)}` });
          return;
        }
        pending.set(id, (reply) => {
          starting.delete(id);
          resolve(reply);
        });
        if (onStarted) starting.set(id, onStarted);
      });
    },
    terminate() {
      if (gone) return;
      deathReason = `the query process was stopped`;
      endpoint.stop();
    },
    async close() {
      if (gone) return;
      endpoint.send({ type: 'close' });
      await closeWithin(exited, CLOSE_GRACE_MS, () => endpoint.stop());
    },
  };
}

/**
 * A QueryWorker over whatever runs query-runner.ts: a child process on Node
 * (node-query-workers.ts), a worker thread on Deno (deno-query-workers.ts). This side keeps
 * the request/reply bookkeeping; the endpoint only carries messages and ends.
 */
import type { QueryReply, QueryWorker } from '../core/query-worker.ts';
import { closeWithin } from './close-within.ts';
import type { QueryRunnerReply, QueryRunnerRequest } from './query-runner.ts';

/** Gives the process or thread this long to close its connection before it is stopped. */
const CLOSE_GRACE_MS = 5_000;

export interface QueryEndpoint {
  /** 'process' or 'thread', for messages. */
  readonly noun: string;
  /** Throws when the message cannot be cloned (a parameter that is a function, say). */
  send(message: QueryRunnerRequest): void;
  onMessage(listener: (message: QueryRunnerReply) => void): void;
  onError(listener: (error: Error) => void): void;
  /** Once, when it has exited; `how` is e.g. "exit code 1" or "signal SIGKILL". */
  onExit(listener: (how: string) => void): void;
  /** Ends it without waiting (SIGKILL, worker.terminate()). */
  stop(): void;
  /**
   * False where the exit comes while a SQLite step it was stopped in goes on burning its core
   * (a Deno worker): one stopped mid-query is then never reported gone, so its query slot
   * stays held until the process ends.
   */
  readonly exitMeansStepEnded: boolean;
}

export function queryChannel(endpoint: QueryEndpoint): QueryWorker {
  const pending = new Map<number, (reply: QueryReply) => void>();
  const starting = new Map<number, () => void>();
  let nextId = 1;
  let gone = false;
  let deathReason = `the query ${endpoint.noun} exited`;
  let stoppedMidQuery = false;
  const exit = new Promise<void>((resolve) => endpoint.onExit(() => resolve()));
  const exited = exit.then(() => (stoppedMidQuery ? new Promise<void>(() => {}) : undefined));

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
    deathReason = `the query ${endpoint.noun} failed: ${error.message}`;
  });
  endpoint.onExit((how) => {
    gone = true;
    for (const resolve of pending.values()) resolve({ ok: false, code: 'INTERNAL', message: `${deathReason} (${how})` });
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
          resolve({ ok: false, code: 'INVALID_INPUT', message: `Cannot run query: its parameters cannot be sent to the query ${endpoint.noun}: ${error instanceof Error ? error.message : String(error)}` });
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
      deathReason = `the query ${endpoint.noun} was stopped`;
      if (!endpoint.exitMeansStepEnded && pending.size > 0) stoppedMidQuery = true;
      endpoint.stop();
    },
    async close() {
      if (gone) return;
      endpoint.send({ type: 'close' });
      await closeWithin(exit, CLOSE_GRACE_MS, () => endpoint.stop());
    },
  };
}

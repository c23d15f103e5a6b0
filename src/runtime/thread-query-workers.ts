/**
 * A QueryWorker over a node:worker_threads Worker that runs query-runner.ts: Deno's query
 * threads (deno-query-workers.ts). Node uses child processes instead (node-query-workers.ts),
 * because Node cannot exit while one of its threads is inside a SQLite step.
 */
import type { Worker } from 'node:worker_threads';
import type { QueryReply, QueryWorker, QueryWorkerFactory, QueryWorkerOptions } from '../core/query-worker.ts';
import type { QueryRunnerReply, QueryRunnerRequest } from './query-runner.ts';

/** Gives the thread this long to close its connection before it is terminated. */
const CLOSE_GRACE_MS = 5_000;

export function threadQueryWorkers(start: (options: QueryWorkerOptions) => Worker): QueryWorkerFactory {
  return (options) => attach(start(options));
}

function attach(worker: Worker): QueryWorker {
  const pending = new Map<number, (reply: QueryReply) => void>();
  const starting = new Map<number, () => void>();
  let nextId = 1;
  let gone = false;
  let deathReason = 'the query thread exited';
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // Deno's 'exit' comes at once while a SQLite step the thread was stopped in goes on burning
  // its core: such a thread is never reported gone, so its query slot stays held until the
  // process ends. A thread stopped while idle is gone when it says so.
  let stoppedMidQuery = false;
  const exited = exit.then(() => (stoppedMidQuery ? new Promise<void>(() => {}) : undefined));

  worker.on('message', (message: QueryRunnerReply) => {
    if ('type' in message) {
      starting.get(message.id)?.();
      starting.delete(message.id);
      return;
    }
    const resolve = pending.get(message.id);
    pending.delete(message.id);
    resolve?.(message.reply);
  });
  worker.on('error', (error) => {
    deathReason = `the query thread failed: ${error.message}`;
  });
  worker.once('exit', (code) => {
    gone = true;
    for (const resolve of pending.values()) resolve({ ok: false, code: 'INTERNAL', message: `${deathReason} (exit code ${code})` });
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
          worker.postMessage({ type: 'run', id, request } satisfies QueryRunnerRequest);
        } catch (error) {
          // Parameters the structured clone refuses (functions, symbols) never reach the thread.
          resolve({ ok: false, code: 'INVALID_INPUT', message: `Cannot run query: its parameters cannot be sent to the query thread: ${error instanceof Error ? error.message : String(error)}` });
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
      deathReason = 'the query thread was stopped';
      if (pending.size > 0) stoppedMidQuery = true;
      void worker.terminate();
    },
    async close() {
      if (gone) return;
      worker.postMessage({ type: 'close' } satisfies QueryRunnerRequest);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)));
      const result = await Promise.race([exit, grace]);
      clearTimeout(timer);
      if (result === 'late') {
        // Stuck in a step: stopping is all that can be done, and waiting could last forever.
        void worker.terminate();
        return;
      }
      await exit;
    },
  };
}

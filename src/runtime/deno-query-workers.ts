/** Starts query threads on Deno (the QueryWorkerFactory of the Deno runtime): worker threads, which Deno does not wait for at exit. */
import { Worker } from 'node:worker_threads';
import type { QueryWorkerFactory } from '../core/query-worker.ts';
import { queryChannel } from './query-channel.ts';
import type { QueryRunnerReply } from './query-runner.ts';

// As for transaction threads: Deno runs the TypeScript entry as it is, with node:sqlite inside.
export const denoQueryWorkers: QueryWorkerFactory = (options) => {
  const worker = new Worker(new URL('./worker-query-runner-deno.ts', import.meta.url), { workerData: options });
  return queryChannel({
    noun: 'thread',
    send: (message) => worker.postMessage(message),
    onMessage: (listener) => void worker.on('message', (message: QueryRunnerReply) => listener(message)),
    onError: (listener) => void worker.on('error', listener),
    onExit: (listener) => void worker.once('exit', (code) => listener(`exit code ${code}`)),
    stop: () => void worker.terminate(),
    // Deno reports the worker gone at once while a SQLite step it was stopped in runs on.
    exitMeansStepEnded: false,
  });
};

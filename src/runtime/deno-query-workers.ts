/** Starts query processes on Deno (the QueryWorkerFactory of the Deno runtime; see query-processes.ts). */
import type { QueryWorkerFactory } from '../core/query-worker.ts';
import { forkQueryProcess } from './query-processes.ts';

// Deno's fork runs the TypeScript entry as it is (`deno run -A`), with node:sqlite inside.
export const denoQueryWorkers: QueryWorkerFactory = (options) => forkQueryProcess(new URL('./query-process-deno.ts', import.meta.url), [], options);

/** Starts transaction threads on Node (the TransactionWorkerFactory of the Node runtime). */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TransactionWorkerFactory, TransactionWorkerOptions } from '../core/transaction-worker.ts';
import { threadTransactionWorkers } from './thread-transaction-workers.ts';

function tsxApiUrl(): string {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolve === 'function') {
    try {
      return resolve('tsx/esm/api');
    } catch {
      // Some loaders (vitest's) give import.meta no resolve(): fall through to require's.
    }
  }
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
}

export const nodeTransactionWorkers: TransactionWorkerFactory = threadTransactionWorkers((options: TransactionWorkerOptions): Worker => {
  // Under tsx or vitest this module is TypeScript, and so is the thread's; the build emits .js.
  const typescript = import.meta.url.endsWith('.ts');
  const url = new URL(typescript ? './worker-transaction-runner-node.ts' : './worker-transaction-runner-node.js', import.meta.url);
  // Node 20 does not apply `execArgv: ['--import', 'tsx']` to a worker's own .ts entry, so a
  // small bootstrap registers tsx's hooks in the thread before importing it. tsx is resolved
  // here, from this file: the thread's eval code would resolve it from the working directory,
  // which is not the project's when a node runs elsewhere (LiteFS, Fly).
  return typescript
    ? new Worker(`import(${JSON.stringify(tsxApiUrl())}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData: options })
    : new Worker(url, { workerData: options });
});

/** Starts transaction threads on Node (the TransactionWorkerFactory of the Node runtime). */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TransactionOutcome, TransactionWorker, TransactionWorkerFactory, TransactionWorkerOptions } from '../core/transaction-worker.ts';
import type { RunnerReply, RunnerRequest } from './worker-transaction-runner-node.ts';

/** Gives the thread this long to close its connection before it is terminated. */
const CLOSE_GRACE_MS = 5_000;

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

export const nodeTransactionWorkers: TransactionWorkerFactory = (options: TransactionWorkerOptions): TransactionWorker => {
  // Under tsx or vitest this module is TypeScript, and so is the thread's; the build emits .js.
  const typescript = import.meta.url.endsWith('.ts');
  const url = new URL(typescript ? './worker-transaction-runner-node.ts' : './worker-transaction-runner-node.js', import.meta.url);
  // Node 20 does not apply `execArgv: ['--import', 'tsx']` to a worker's own .ts entry, so a
  // small bootstrap registers tsx's hooks in the thread before importing it. tsx is resolved
  // here, from this file: the thread's eval code would resolve it from the working directory,
  // which is not the project's when a node runs elsewhere (LiteFS, Fly).
  const worker = typescript
    ? new Worker(`import(${JSON.stringify(tsxApiUrl())}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData: options })
    : new Worker(url, { workerData: options });
  const pending = new Map<number, (outcome: TransactionOutcome) => void>();
  let nextId = 1;
  let exited = false;
  let deathReason = 'the transaction thread exited';
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  const failAll = (message: string): void => {
    for (const resolve of pending.values()) resolve({ ok: false, sqliteCode: undefined, message });
    pending.clear();
  };
  let heapUsedBytes: number | null = null;
  worker.on('message', (reply: RunnerReply) => {
    if ('type' in reply) {
      heapUsedBytes = reply.usedBytes;
      return;
    }
    const resolve = pending.get(reply.id);
    pending.delete(reply.id);
    resolve?.(reply.outcome);
  });
  worker.on('error', (error) => {
    deathReason = `the transaction thread failed: ${error.message}`;
  });
  worker.once('exit', (code) => {
    exited = true;
    failAll(`${deathReason} (exit code ${code})`);
  });

  return {
    get running() {
      return !exited;
    },
    get heapUsedBytes() {
      return heapUsedBytes;
    },
    run(batch) {
      if (exited) return Promise.resolve({ ok: false, sqliteCode: undefined, message: deathReason });
      const id = nextId++;
      return new Promise<TransactionOutcome>((resolve) => {
        pending.set(id, resolve);
        worker.postMessage({ type: 'run', id, batch } satisfies RunnerRequest);
      });
    },
    async close() {
      if (exited) return;
      worker.postMessage({ type: 'close' } satisfies RunnerRequest);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)));
      const result = await Promise.race([exit, grace]);
      clearTimeout(timer);
      if (result === 'late') await worker.terminate();
      await exit;
    },
  };
};

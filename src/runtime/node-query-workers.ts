/** Starts query processes on Node (the QueryWorkerFactory of the Node runtime; see query-processes.ts). */
import type { QueryWorkerFactory } from '../core/query-worker.ts';
import { forkQueryProcess } from './query-processes.ts';
import { packageUrl } from './start-node-worker.ts';

export const nodeQueryWorkers: QueryWorkerFactory = (options) => {
  // Under tsx or vitest this module is TypeScript, and so is the child's entry; the build emits .js.
  const typescript = import.meta.url.endsWith('.ts');
  const entry = new URL(`./query-process-node.${typescript ? 'ts' : 'js'}`, import.meta.url);
  // tsx is resolved here, not from the working directory, which is not the project's on LiteFS or Fly.
  return forkQueryProcess(entry, typescript ? ['--import', packageUrl('tsx/esm')] : [], options);
};

/** Starts a thread from one of this directory's entry modules on Node, from sources (tsx, vitest) or from the build. */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** A package's entry as a file URL, resolved from this file (not the working directory, which is not the project's on LiteFS or Fly). */
export function packageUrl(specifier: string): string {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolve === 'function') {
    try {
      return resolve(specifier);
    } catch {
      // Some loaders (vitest's) give import.meta no resolve(): fall through to require's.
    }
  }
  return pathToFileURL(createRequire(import.meta.url).resolve(specifier)).href;
}

/** `entry` is the module's name without extension, e.g. 'worker-transaction-runner-node'. */
export function startNodeWorker(entry: string, workerData: unknown): Worker {
  // Under tsx or vitest this module is TypeScript, and so is the thread's; the build emits .js.
  const typescript = import.meta.url.endsWith('.ts');
  const url = new URL(`./${entry}${typescript ? '.ts' : '.js'}`, import.meta.url);
  // Node 20 does not apply `execArgv: ['--import', 'tsx']` to a worker's own .ts entry, so a
  // small bootstrap registers tsx's hooks in the thread before importing it. tsx is resolved
  // here, from this file: the thread's eval code would resolve it from the working directory,
  // which is not the project's when a node runs elsewhere (LiteFS, Fly).
  return typescript
    ? new Worker(`import(${JSON.stringify(packageUrl('tsx/esm/api'))}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(url.href)}); })`, { eval: true, workerData })
    : new Worker(url, { workerData });
}

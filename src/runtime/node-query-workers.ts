/**
 * Query "threads" on Node are child processes. A worker thread stuck inside a SQLite step can
 * be neither stopped (V8 termination waits for native code to return) nor left behind: Node
 * joins every thread when the process exits, so one runaway query would keep a stopped node
 * from ever exiting. A child process ends at once with SIGKILL, and its query slot with it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { QueryReply, QueryWorker, QueryWorkerFactory, QueryWorkerOptions } from '../core/query-worker.ts';
import type { QueryRunnerReply, QueryRunnerRequest } from './query-runner.ts';

/** Gives the process this long to close its connection before it is killed. */
const CLOSE_GRACE_MS = 5_000;

function tsxUrl(): string {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolve === 'function') {
    try {
      return resolve('tsx/esm');
    } catch {
      // Some loaders (vitest's) give import.meta no resolve(): fall through to require's.
    }
  }
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm')).href;
}

/** The query process runs user SQL and needs no credential: the bot token and the API secrets stay in the node. */
export function queryProcessEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !/TOKEN|SECRET|PASSWORD|KEY/i.test(name)) out[name] = value;
  }
  return out;
}

function startProcess(options: QueryWorkerOptions): ChildProcess {
  // Under tsx or vitest this module is TypeScript, and so is the child's entry; the build emits .js.
  const typescript = import.meta.url.endsWith('.ts');
  const entry = new URL(`./query-process-node.${typescript ? 'ts' : 'js'}`, import.meta.url);
  // tsx is resolved here, not from the working directory, which is not the project's on LiteFS or Fly.
  return fork(entry, [JSON.stringify(options)], {
    execArgv: typescript ? ['--import', tsxUrl()] : [],
    serialization: 'advanced',
    env: queryProcessEnv(process.env),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export const nodeQueryWorkers: QueryWorkerFactory = (options) => attach(startProcess(options));

function attach(child: ChildProcess): QueryWorker {
  const pending = new Map<number, (reply: QueryReply) => void>();
  const starting = new Map<number, () => void>();
  let nextId = 1;
  let gone = false;
  let deathReason = 'the query process exited';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  child.on('message', (message: QueryRunnerReply) => {
    if ('type' in message) {
      starting.get(message.id)?.();
      starting.delete(message.id);
      return;
    }
    const resolve = pending.get(message.id);
    pending.delete(message.id);
    resolve?.(message.reply);
  });
  child.on('error', (error) => {
    deathReason = `the query process failed: ${error.message}`;
  });
  child.once('exit', (code, signal) => {
    gone = true;
    for (const resolve of pending.values()) resolve({ ok: false, code: 'INTERNAL', message: `${deathReason} (${signal ? `signal ${signal}` : `exit code ${code}`})` });
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
          child.send({ type: 'run', id, request } satisfies QueryRunnerRequest);
        } catch (error) {
          // Parameters the structured clone refuses (functions, symbols) never reach the process.
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
      deathReason = 'the query process was stopped';
      child.kill('SIGKILL');
    },
    async close() {
      if (gone) return;
      child.send({ type: 'close' } satisfies QueryRunnerRequest);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)));
      const result = await Promise.race([exited, grace]);
      clearTimeout(timer);
      if (result === 'late') child.kill('SIGKILL');
      await exited;
    },
  };
}

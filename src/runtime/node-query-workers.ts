/**
 * Query "threads" on Node are child processes. A worker thread stuck inside a SQLite step can
 * be neither stopped (V8 termination waits for native code to return) nor left behind: Node
 * joins every thread when the process exits, so one runaway query would keep a stopped node
 * from ever exiting. A child process ends at once with SIGKILL, and its query slot with it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { QueryWorkerFactory, QueryWorkerOptions } from '../core/query-worker.ts';
import { queryChannel } from './query-channel.ts';
import type { QueryRunnerReply } from './query-runner.ts';
import { packageUrl } from './start-node-worker.ts';

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
    execArgv: typescript ? ['--import', packageUrl('tsx/esm')] : [],
    serialization: 'advanced',
    env: queryProcessEnv(process.env),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export const nodeQueryWorkers: QueryWorkerFactory = (options) => {
  const child = startProcess(options);
  return queryChannel({
    noun: 'process',
    send: (message) => void child.send(message),
    onMessage: (listener) => void child.on('message', (message) => listener(message as QueryRunnerReply)),
    onError: (listener) => void child.on('error', listener),
    onExit: (listener) => void child.once('exit', (code, signal) => listener(signal ? `signal ${signal}` : `exit code ${code}`)),
    stop: () => void child.kill('SIGKILL'),
    // A killed process takes its SQLite step with it.
    exitMeansStepEnded: true,
  });
};

/**
 * Query "threads" are child processes, on Node and on Deno. A thread stuck inside a SQLite
 * step can be stopped by neither runtime: V8 termination waits for native code to return.
 * Node also joins every thread when the process exits, so one runaway query would keep a
 * stopped node from ever exiting; Deno reports a terminated worker gone while its step burns a
 * core until the node restarts. A child process ends at once with SIGKILL, its step with it.
 */
import { fork } from 'node:child_process';
import process from 'node:process';
import type { QueryWorker, QueryWorkerOptions } from '../core/query-worker.ts';
import { queryChannel } from './query-channel.ts';
import type { QueryRunnerReply } from './query-runner.ts';

/** The query process runs user SQL and needs no credential: the bot token and the API secrets stay in the node. */
export function queryProcessEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !/TOKEN|SECRET|PASSWORD|KEY/i.test(name)) out[name] = value;
  }
  return out;
}

/** `entry` is the runtime's query-process module; `execArgv` what its runtime needs to load it. */
export function forkQueryProcess(entry: URL, execArgv: readonly string[], options: QueryWorkerOptions): QueryWorker {
  const child = fork(entry, [JSON.stringify(options)], {
    execArgv: [...execArgv],
    serialization: 'advanced',
    env: queryProcessEnv(process.env),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return queryChannel({
    send: (message) => {
      // Node's send throws on what it cannot clone; Deno's reports it later and then dies on its
      // own pending write ("Missing promise"), so refuse it here, where the caller can answer.
      structuredClone(message);
      child.send(message);
    },
    onMessage: (listener) => void child.on('message', (message) => listener(message as QueryRunnerReply)),
    onError: (listener) => void child.on('error', listener),
    onExit: (listener) => void child.once('exit', (code, signal) => listener(signal ? `signal ${signal}` : `exit code ${code}`)),
    stop: () => void child.kill('SIGKILL'),
  }, { ...(options.maxMemoryBytes === undefined ? {} : { maxMemoryBytes: options.maxMemoryBytes }) });
}

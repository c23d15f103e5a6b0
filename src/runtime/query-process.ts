/**
 * The query process's side (see query-processes.ts): a runtime's SQLite driver behind
 * query-runner.ts, its options as the first argument, requests and replies over the IPC
 * channel. query-process-node.ts and query-process-deno.ts are the entry points.
 */
import process from 'node:process';
import { Worker } from 'node:worker_threads';
import type { SqliteDriverFactory } from '../core/sqlite.ts';
import type { QueryWorkerOptions } from '../core/query-worker.ts';
import { MEMORY_LIMIT_SIGNAL } from './query-channel.ts';
import { serveQueries, type QueryRunnerReply, type QueryRunnerRequest } from './query-runner.ts';

/** How often the watchdog looks at the parent and at this process's memory. */
const WATCH_MS = 20;

/**
 * A statement stuck in one SQLite step holds this process's only JS thread, so 'disconnect'
 * is never handled and a node killed with SIGKILL (the OOM killer, a crash) would leave the
 * query burning a core for ever. A thread of its own sees the parent go, because the process
 * is re-parented, and kills the process from there. It also stops the process once it holds
 * more memory than it may: one SQLite value (a randomblob(), a printf('%.*c') or a
 * group_concat()) is built whole inside a step, before any row comes back to be counted.
 */
function startWatchdog(parentPid: number, maxMemoryBytes: number): Promise<void> {
  const source = `const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.parent) process.kill(process.pid, 'SIGKILL');
  else if (workerData.maxRss > 0 && process.memoryUsage.rss() > workerData.maxRss) process.kill(process.pid, '${MEMORY_LIMIT_SIGNAL}');
}, ${WATCH_MS});`;
  const watchdog = new Worker(source, { eval: true, workerData: { parent: parentPid, maxRss: maxMemoryBytes }, resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 2 } });
  return new Promise((resolve) => {
    // Until it is online a busy main thread could keep it from starting: no query runs before.
    watchdog.once('online', () => {
      watchdog.unref();
      resolve();
    });
    watchdog.once('error', (error) => {
      // A backstop, not a reason to refuse queries: the parent still kills this process on time-outs.
      process.stderr.write(`shardline query process ${process.pid}: the watchdog failed to start (${error.message}); serving without it\n`);
      resolve();
    });
  });
}

export function serveQueryProcess(driverFactory: SqliteDriverFactory): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('The query process must be started by its node (node:child_process fork, with an IPC channel)');
  const options = JSON.parse(process.argv[2] ?? '{}') as QueryWorkerOptions;
  const watching = startWatchdog(process.ppid, options.maxMemoryBytes ?? 0);
  // The parent gone (crashed, killed) means nobody will read an answer: end with it.
  process.on('disconnect', () => process.exit(0));
  serveQueries(
    {
      // Promises settle in order, so requests keep theirs while the watchdog starts.
      on: (_event, listener) => process.on('message', (message) => void watching.then(() => listener(message as QueryRunnerRequest))),
      postMessage: (reply: QueryRunnerReply) => void send(reply),
    },
    options,
    { driverFactory, end: () => process.disconnect() },
  );
}

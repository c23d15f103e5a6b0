/**
 * The query process's entry point on Node (see node-query-workers.ts): better-sqlite3, its
 * options as the first argument, requests and replies over the IPC channel.
 */
import type { QueryWorkerOptions } from '../core/query-worker.ts';
import { betterSqlite3Driver } from './better-sqlite3-driver.ts';
import { serveQueries, type QueryRunnerReply, type QueryRunnerRequest } from './query-runner.ts';

const send = process.send?.bind(process);
if (send) {
  const options = JSON.parse(process.argv[2] ?? '{}') as QueryWorkerOptions;
  // The parent gone (crashed, killed) means nobody will read an answer: end with it.
  process.on('disconnect', () => process.exit(0));
  serveQueries(
    {
      on: (_event, listener) => process.on('message', (message) => listener(message as QueryRunnerRequest)),
      postMessage: (reply: QueryRunnerReply) => void send(reply),
    },
    options,
    { driverFactory: betterSqlite3Driver, end: () => process.disconnect() },
  );
}

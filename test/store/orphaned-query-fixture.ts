/**
 * Run by query-process-orphan.test.ts, as `node --import tsx` or `deno run`: starts the
 * runtime's query process on the database given as the first argument, sends it a query that never ends, prints the query
 * process's pid once the query has started and then dies as the OOM killer would kill a node.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { QueryWorkerFactory } from '../../src/core/query-worker.ts';

function queryProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      // tsx may run an esbuild service beside it: only the query process counts.
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('query-process-')) pids.push(Number(entry));
    } catch {
      // The process ended while the directory was read.
    }
  }
  return pids;
}

const workers: QueryWorkerFactory =
  'Deno' in globalThis
    ? (await import('../../src/runtime/deno-query-workers.ts')).denoQueryWorkers
    : (await import('../../src/runtime/node-query-workers.ts')).nodeQueryWorkers;
const worker = workers({ databasePath: process.argv[2]! });
void worker.run({ sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', params: [], maxRows: 10, timeoutMs: 600_000, maxBytes: 1024 }, () => {
  process.stdout.write(`${JSON.stringify({ queryProcess: queryProcesses() })}\n`, () => process.kill(process.pid, 'SIGKILL'));
});

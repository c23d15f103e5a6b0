/**
 * The body of a query thread, shared by the Node and Deno entry points: it opens its own
 * read-only connection on the first query and runs each query it is sent with the same
 * checks and limits as on the event loop (runReadOnlyQuery). Errors travel back as their
 * code and message, because a ShardlineError does not survive the structured clone as one.
 */
import { isShardlineError } from '../core/errors.ts';
import type { QueryReply, QueryRequest, QueryWorkerOptions } from '../core/query-worker.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { openDatabase } from '../store/open-database.ts';
import { runReadOnlyQuery } from '../store/queries.ts';
import { queryResultJson } from '../store/result-json.ts';
import { closeAndEnd, type RunnerOptions, type RunnerPort } from './runner-port.ts';

export type QueryRunnerRequest = { readonly type: 'run'; readonly id: number; readonly request: QueryRequest } | { readonly type: 'close' };
export type QueryRunnerReply = { readonly id: number; readonly reply: QueryReply } | { readonly type: 'started'; readonly id: number };

export function serveQueries(port: RunnerPort<QueryRunnerRequest, QueryRunnerReply>, options: QueryWorkerOptions, runner: RunnerOptions): void {
  let db: SqliteDriver | null = null;

  const run = (id: number, request: QueryRequest): QueryReply => {
    try {
      db ??= openDatabase({ path: options.databasePath, readonly: true, driverFactory: runner.driverFactory });
      port.postMessage({ type: 'started', id });
      const result = runReadOnlyQuery(db, request.sql, request.params as unknown[], { maxRows: request.maxRows, timeoutMs: request.timeoutMs, maxBytes: request.maxBytes });
      if (request.format !== 'json') return { ok: true, ...result };
      // Written here, off the node's event loop: the node sends these bytes on as they are.
      const json = result.timedOut ? null : new TextEncoder().encode(queryResultJson(result));
      if (json && json.byteLength > request.maxBytes) {
        return { ok: false, code: 'TOO_LARGE', message: `Cannot run query: its result is ${json.byteLength} bytes as JSON, more than maxBytes (${request.maxBytes})` };
      }
      return { ok: true, json, rowCount: result.rows.length, truncated: result.truncated, timedOut: result.timedOut, bytes: json?.byteLength ?? result.bytes };
    } catch (error) {
      if (isShardlineError(error)) return { ok: false, code: error.code, message: error.message };
      return { ok: false, code: 'INTERNAL', message: `The query thread failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  };

  port.on('message', (message) => {
    if (message.type === 'close') {
      const open = db;
      db = null;
      closeAndEnd(open, runner);
      return;
    }
    port.postMessage({ id: message.id, reply: run(message.id, message.request) });
  });
}

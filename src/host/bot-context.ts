import type { REST } from '@discordjs/rest';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { BotContext } from '../bot.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { EVENT_LOOP_READ_MAX_BYTES, READ_ONLY_QUERY_DEFAULTS, runReadOnlyQuery, type ReadOnlyQueryResult } from '../store/queries.ts';
import type { ShardRunner } from './shard-runner.ts';

export type RunQuery = (sql: string, params: readonly unknown[], limits: { maxRows: number; timeoutMs: number; maxBytes: number }, signal?: AbortSignal) => Promise<ReadOnlyQueryResult>;

/** ctx.sql() runs on the event loop, so its bound is a backstop against a runaway answer, not a page size. */
const SQL_MAX_ROWS = 100_000;

/** Rows as objects. A bot acting on part of an answer would be wrong without knowing it: an incomplete one is an error. */
function complete<T>(result: ReadOnlyQueryResult, limits: { maxRows: number; timeoutMs: number }, tooManyHint: string): T[] {
  if (result.timedOut) {
    const n = result.rows.length;
    throw new ShardlineError('TIMEOUT', `Query ran past its time limit of ${limits.timeoutMs} ms after ${n} row${n === 1 ? '' : 's'}; narrow it (an indexed filter, a LIMIT)`);
  }
  if (result.truncated) throw new ShardlineError('TOO_LARGE', `Query returned more than maxRows (${limits.maxRows}) rows; ${tooManyHint}`);
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])) as T);
}

/** The context every handler of one shard receives. */
export function createBotContext(runner: ShardRunner, deps: { rest: REST; logger: Logger; readDb: () => SqliteDriver | null; runQuery: RunQuery }): BotContext {
  const readDb = (): SqliteDriver => {
    const db = deps.readDb();
    if (!db) throw new ShardlineError('STORE_UNAVAILABLE', 'Cannot query the cache: the host is not running');
    return db;
  };
  return {
    shardId: runner.shardId,
    shardCount: runner.shardCount,
    rest: deps.rest,
    logger: deps.logger.child({ shardId: runner.shardId, component: 'bot' }),
    sql: <T extends Record<string, unknown>>(query: string, params: readonly unknown[] = []) => {
      // Rows and bytes are counted as SQLite produces them: a runaway answer stops there, with TOO_LARGE.
      const limits = { maxRows: SQL_MAX_ROWS, timeoutMs: READ_ONLY_QUERY_DEFAULTS.timeoutMs, maxBytes: EVENT_LOOP_READ_MAX_BYTES };
      return complete<T>(runReadOnlyQuery(readDb(), query, params, limits), limits, 'page it with LIMIT and OFFSET');
    },
    query: async <T extends Record<string, unknown>>(query: string, params: readonly unknown[] = [], options: { maxRows?: number; timeoutMs?: number; maxBytes?: number; signal?: AbortSignal } = {}) => {
      const limits = {
        maxRows: options.maxRows ?? READ_ONLY_QUERY_DEFAULTS.maxRows,
        timeoutMs: options.timeoutMs ?? READ_ONLY_QUERY_DEFAULTS.timeoutMs,
        maxBytes: options.maxBytes ?? READ_ONLY_QUERY_DEFAULTS.maxBytes,
      };
      return complete<T>(await deps.runQuery(query, params, limits, options.signal), limits, 'add a LIMIT or pass a larger maxRows');
    },
    send: (payload) => runner.send(payload as GatewaySendPayload),
  };
}

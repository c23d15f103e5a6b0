import type { REST } from '@discordjs/rest';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { BotContext } from '../bot.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { READ_ONLY_QUERY_DEFAULTS, runReadOnlyQuery, type ReadOnlyQueryResult } from '../store/queries.ts';
import type { ShardRunner } from './shard-runner.ts';

export type RunQuery = (sql: string, params: readonly unknown[], limits: { maxRows: number; timeoutMs: number }, signal?: AbortSignal) => Promise<ReadOnlyQueryResult>;

function asObjects<T>(result: ReadOnlyQueryResult): T[] {
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
      const result = runReadOnlyQuery(readDb(), query, params, { maxRows: 100_000 });
      return asObjects<T>(result);
    },
    query: async <T extends Record<string, unknown>>(query: string, params: readonly unknown[] = [], options: { maxRows?: number; timeoutMs?: number; signal?: AbortSignal } = {}) => {
      const limits = { maxRows: options.maxRows ?? READ_ONLY_QUERY_DEFAULTS.maxRows, timeoutMs: options.timeoutMs ?? READ_ONLY_QUERY_DEFAULTS.timeoutMs };
      const result = await deps.runQuery(query, params, limits, options.signal);
      // A bot acting on part of an answer would be wrong without knowing it: an incomplete one is an error.
      if (result.timedOut) throw new ShardlineError('TIMEOUT', `Query ran past its time limit of ${limits.timeoutMs} ms after ${result.rows.length} row${result.rows.length === 1 ? '' : 's'}; narrow it or pass a larger timeoutMs`);
      if (result.truncated) throw new ShardlineError('TOO_LARGE', `Query returned more than maxRows (${limits.maxRows}) rows; add a LIMIT or pass a larger maxRows`);
      return asObjects<T>(result);
    },
    send: (payload) => runner.send(payload as GatewaySendPayload),
  };
}

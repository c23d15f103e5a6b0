import type { REST } from '@discordjs/rest';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { BotContext } from '../bot.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { runReadOnlyQuery } from '../store/queries.ts';
import type { ShardRunner } from './shard-runner.ts';

/** The context every handler of one shard receives. */
export function createBotContext(runner: ShardRunner, deps: { rest: REST; logger: Logger; readDb: () => SqliteDriver | null }): BotContext {
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
      return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])) as T);
    },
    send: (payload) => runner.send(payload as GatewaySendPayload),
  };
}

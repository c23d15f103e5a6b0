import { describe, expect, it } from 'vitest';
import type { REST } from '@discordjs/rest';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { ReadOnlyQueryResult } from '../store/queries.ts';
import { betterSqlite3Driver } from '../runtime/better-sqlite3-driver.ts';
import { createBotContext, type RunQuery } from './bot-context.ts';
import type { ShardRunner } from './shard-runner.ts';

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child: () => silent };
const runner = { shardId: 3, shardCount: 8, send: async () => {} } as unknown as ShardRunner;

function context(answer: Partial<ReadOnlyQueryResult>, seen: unknown[][] = [], db: SqliteDriver | null = null) {
  const runQuery: RunQuery = async (...args) => {
    seen.push(args);
    return { columns: ['id', 'n'], rows: [['1', 2]], truncated: false, timedOut: false, bytes: 40, ...answer };
  };
  return createBotContext(runner, { rest: {} as REST, logger: silent as never, readDb: () => db, runQuery });
}

describe('BotContext.query()', () => {
  it('passes the limits and gives rows as objects', async () => {
    const seen: unknown[][] = [];
    const signal = AbortSignal.timeout(60_000);
    expect(await context({}, seen).query('select id, n from t where id = ?', ['1'], { maxRows: 5, timeoutMs: 300, maxBytes: 2048, signal })).toEqual([{ id: '1', n: 2 }]);
    expect(seen).toEqual([['select id, n from t where id = ?', ['1'], { maxRows: 5, timeoutMs: 300, maxBytes: 2048 }, signal]]);
    await context({}, seen).query('select 1');
    expect(seen[1]!.slice(1, 3)).toEqual([[], { maxRows: 1000, timeoutMs: 5000, maxBytes: 4 * 1024 * 1024 }]);
  });

  it('rejects an answer cut short by the clock or by maxRows instead of returning part of it', async () => {
    await expect(context({ timedOut: true, truncated: true }).query('select 1', [], { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringMatching(/time limit of 50 ms after 1 row;/),
    });
    await expect(context({ truncated: true }).query('select 1', [], { maxRows: 1 })).rejects.toMatchObject({ code: 'TOO_LARGE', message: expect.stringMatching(/more than maxRows \(1\)/) });
  });

  it('sql() says the host is not running when there is no database', () => {
    expect(() => context({}).sql('select 1')).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE' }));
  });
});

describe('BotContext.sql()', () => {
  it('answers with row objects, and refuses an answer past its 100,000-row backstop instead of cutting it', () => {
    const db = betterSqlite3Driver({ path: ':memory:', readonly: false, busyTimeoutMs: 1000 });
    try {
      const ctx = context({}, [], db);
      const rows = (n: number) => `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT ${n}) SELECT x FROM c`;
      expect(ctx.sql<{ x: number }>(rows(3))).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
      expect(ctx.sql(rows(100_000))).toHaveLength(100_000);
      expect(() => ctx.sql(rows(100_001))).toThrow(expect.objectContaining({ code: 'TOO_LARGE', message: expect.stringMatching(/more than maxRows \(100000\) rows; page it/) }));
    } finally {
      db.close();
    }
  });
});

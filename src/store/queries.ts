import { ShardlineError, isShardlineError } from '../core/errors.ts';
import { CACHE_TABLES } from '../core/mutation.ts';
import type { CacheTable } from '../core/mutation.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import { sqliteErrorCode, type SqliteDriver } from '../core/sqlite.ts';
import { isReadOnlyStatement } from './read-only-sql.ts';
import { ResultMeter } from './result-json.ts';

export type TableCounts = Record<CacheTable | 'shard_sessions' | 'shard_assignments' | 'nodes', number>;

export function countRows(db: SqliteDriver): TableCounts {
  const counts = {} as TableCounts;
  for (const table of [...CACHE_TABLES, 'shard_sessions', 'shard_assignments', 'nodes'] as const) {
    counts[table] = Number(db.prepare(`SELECT count(*) FROM ${table}`).values()[0]?.[0] ?? 0);
  }
  return counts;
}

export interface GuildView {
  id: string;
  shardId: number;
  name: string | null;
  ownerId: string | null;
  memberCount: number | null;
  unavailable: boolean;
  joinedAt: string | null;
  updatedAt: number;
  raw: unknown;
}

export function getGuild(db: SqliteDriver, guildId: string): GuildView | undefined {
  const row = db
    .prepare('SELECT id, shard_id, name, owner_id, member_count, unavailable, joined_at, updated_at, raw FROM guilds WHERE id = ?')
    .get([guildId]);
  if (!row) return undefined;
  return {
    id: String(row['id']),
    shardId: Number(row['shard_id']),
    name: (row['name'] as string | null) ?? null,
    ownerId: (row['owner_id'] as string | null) ?? null,
    memberCount: row['member_count'] === null ? null : Number(row['member_count']),
    unavailable: Number(row['unavailable']) === 1,
    joinedAt: (row['joined_at'] as string | null) ?? null,
    updatedAt: Number(row['updated_at']),
    raw: JSON.parse(String(row['raw'])) as unknown,
  };
}

export interface MemberView {
  userId: string;
  username: string | null;
  globalName: string | null;
  nick: string | null;
  joinedAt: string | null;
  roles: string[];
}

/** Members in user-id order; pass the last `userId` as `after` for the next page. */
export function listMembers(db: SqliteDriver, guildId: string, options: { limit?: number; after?: string } = {}): MemberView[] {
  const limit = Math.min(Math.max(1, options.limit ?? 100), 1000);
  const rows = db
    .prepare(
      'SELECT m.user_id, u.username, u.global_name, m.nick, m.joined_at, m.roles FROM members m LEFT JOIN users u ON u.id = m.user_id ' +
        'WHERE m.guild_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?',
    )
    .all([guildId, options.after ?? '', limit]);
  return rows.map((r) => ({
    userId: String(r['user_id']),
    username: (r['username'] as string | null) ?? null,
    globalName: (r['global_name'] as string | null) ?? null,
    nick: (r['nick'] as string | null) ?? null,
    joinedAt: (r['joined_at'] as string | null) ?? null,
    roles: JSON.parse(String(r['roles'])) as string[],
  }));
}

export interface ShardSessionView {
  /** The shard set the session belongs to. */
  generation: number;
  shardId: number;
  sessionId: string;
  seq: number;
  resumeGatewayUrl: string;
  shardCount: number;
  updatedAt: number;
}

export function listShardSessions(db: SqliteDriver): ShardSessionView[] {
  return db
    .prepare('SELECT generation, shard_id, session_id, seq, resume_gateway_url, shard_count, updated_at FROM shard_sessions ORDER BY generation, shard_id')
    .all()
    .map((r) => ({
      generation: Number(r['generation']),
      shardId: Number(r['shard_id']),
      sessionId: String(r['session_id']),
      seq: Number(r['seq']),
      resumeGatewayUrl: String(r['resume_gateway_url']),
      shardCount: Number(r['shard_count']),
      updatedAt: Number(r['updated_at']),
    }));
}

/** The committed sessions a shard can resume from, by shard id: those of a set (its count, and its generation when given). */
export function resumableSessions(db: SqliteDriver, shardCount: number, generation?: number): Map<number, ResumeInfo> {
  const result = new Map<number, ResumeInfo>();
  for (const s of listShardSessions(db)) {
    if (s.shardCount === shardCount && (generation === undefined || s.generation === generation)) result.set(s.shardId, { shardId: s.shardId, shardCount: s.shardCount, sessionId: s.sessionId, seq: s.seq, resumeGatewayUrl: s.resumeGatewayUrl });
  }
  return result;
}

export interface ReadOnlyQueryOptions {
  /** Rows returned at most (default 1000); `truncated` says more existed. */
  maxRows?: number;
  /**
   * Wall-clock budget (default 5000 ms). Neither driver can interrupt a running statement, so
   * the deadline is checked between rows: a query producing rows stops on time, but one slow
   * step (a big sort or aggregate before the first row) runs to its end. Keep the SQL
   * connection separate from the writer's for that reason.
   */
  timeoutMs?: number;
  /**
   * Size of the result as JSON at most (default 4 MiB; see result-json.ts): counted row by row
   * as SQLite produces them, and past it the query stops and throws TOO_LARGE. One value is
   * only known once SQLite has produced it; SQLite itself refuses any over about 1 GB.
   */
  maxBytes?: number;
}

export interface ReadOnlyQueryResult {
  columns: string[];
  rows: unknown[][];
  /** More rows existed (maxRows) or the deadline stopped the scan (timedOut). */
  truncated: boolean;
  timedOut: boolean;
  /** The result's size as JSON (result-json.ts), as counted against maxBytes. */
  bytes: number;
}

const MAX_SQL_LENGTH = 100_000;

/**
 * What a read on the event loop (ctx.sql(), Host.query(), the dashboard) may hold as JSON at
 * most: a backstop against a runaway answer that would stop every shard, not a page size.
 */
export const EVENT_LOOP_READ_MAX_BYTES = 8 * 1024 * 1024;

/** What runReadOnlyQuery() uses where the caller gives no limit; the query threads use the same. */
export const READ_ONLY_QUERY_DEFAULTS = { maxRows: 1000, timeoutMs: 5000, maxBytes: 4 * 1024 * 1024 } as const;

/** Every limit of a query, the caller's where given (an explicit undefined included) and `defaults` for the rest. */
export function queryLimits(limits: ReadOnlyQueryOptions, defaults: { readonly maxRows: number; readonly timeoutMs: number; readonly maxBytes: number } = READ_ONLY_QUERY_DEFAULTS): Required<ReadOnlyQueryOptions> {
  return { maxRows: limits.maxRows ?? defaults.maxRows, timeoutMs: limits.timeoutMs ?? defaults.timeoutMs, maxBytes: limits.maxBytes ?? defaults.maxBytes };
}

/** Runs user SQL for the query API: one read-only statement, rows as arrays, bounded in rows, bytes and time. */
export function runReadOnlyQuery(
  db: SqliteDriver,
  sql: string,
  params: readonly unknown[] | Record<string, unknown> = [],
  options: ReadOnlyQueryOptions = {},
): ReadOnlyQueryResult {
  if (typeof sql !== 'string' || sql.trim() === '') throw new ShardlineError('INVALID_INPUT', 'Cannot run query: sql must be a non-empty string');
  if (sql.length > MAX_SQL_LENGTH) throw new ShardlineError('TOO_LARGE', `Cannot run query: sql is ${sql.length} characters, the limit is ${MAX_SQL_LENGTH}`);
  const { maxRows, timeoutMs, maxBytes } = queryLimits(options);
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new ShardlineError('INVALID_INPUT', `Cannot run query: maxRows must be a positive integer, got ${maxRows}`);
  checkParams(params);
  if (!isReadOnlyStatement(sql)) {
    throw new ShardlineError('INVALID_INPUT', 'Cannot run query: only one read-only statement is allowed (SELECT, WITH, VALUES, EXPLAIN or a reporting PRAGMA)');
  }
  let stmt;
  try {
    stmt = db.prepare(sql);
  } catch (error) {
    throw new ShardlineError('INVALID_INPUT', `Cannot run query: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (stmt.readonly === false) throw new ShardlineError('INVALID_INPUT', 'Cannot run query: SQLite reports that this statement writes');
  const columns = stmt.columns();
  const meter = new ResultMeter(maxBytes, columns);
  const deadline = Date.now() + timeoutMs;
  const rows: unknown[][] = [];
  let truncated = false;
  let timedOut = false;
  try {
    for (const row of stmt.iterateValues(params as never)) {
      if (rows.length >= maxRows) {
        truncated = true;
        break;
      }
      // Throws TOO_LARGE, which ends the iteration and releases the statement.
      meter.add(row);
      rows.push(row);
      if (Date.now() > deadline) {
        truncated = true;
        timedOut = true;
        break;
      }
    }
  } catch (error) {
    if (isShardlineError(error)) throw error;
    if (sqliteErrorCode(error) === 'SQLITE_TOOBIG') {
      throw new ShardlineError('TOO_LARGE', `Cannot run query: one of its values is larger than SQLite or the runtime can hold (${error instanceof Error ? error.message : String(error)}); the result limit is ${maxBytes} bytes as JSON`, { cause: error });
    }
    throw new ShardlineError('INVALID_INPUT', `Cannot run query: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { columns, rows, truncated, timedOut, bytes: meter.bytes };
}

function checkParams(params: unknown): void {
  const values = Array.isArray(params) ? params : typeof params === 'object' && params !== null ? Object.values(params) : undefined;
  if (!values) throw new ShardlineError('INVALID_INPUT', 'Cannot run query: params must be an array or an object');
  for (const value of values) {
    if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') continue;
    throw new ShardlineError('INVALID_INPUT', `Cannot run query: parameter ${JSON.stringify(value)} is not a string, number or null`);
  }
}

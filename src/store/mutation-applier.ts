import { ShardlineError } from '../core/errors.ts';
import { CACHE_TABLES, GUILD_SCOPED_TABLES } from '../core/mutation.ts';
import type { CacheTable, Mutation, SessionCommit } from '../core/mutation.ts';
import type { SqliteDriver, SqliteStatement } from '../core/sqlite.ts';
import { OP } from './packed-entries.ts';
import { COLUMN_KEYS, SPECS } from './table-specs.ts';

function upsertSql(table: CacheTable, merge: boolean): string {
  const spec = SPECS[table];
  const names = spec.columns.map(([c]) => c);
  const updates = names
    .filter((c) => !spec.key.includes(c))
    .map((c) => {
      if (!merge || c === 'updated_at' || c === 'unavailable') return `${c} = excluded.${c}`;
      // Partial data: keep what is stored where the new row knows nothing.
      if (c === 'raw') return `raw = json_patch(${table}.raw, excluded.raw)`;
      return `${c} = coalesce(excluded.${c}, ${table}.${c})`;
    });
  // Every column but guilds.updated_at is derived from `raw`: an identical replacement (a member
  // event repeating its user, a replayed dispatch) then writes nothing and dirties no page.
  const unchanged = !merge && table !== 'guilds' ? ` WHERE ${table}.raw IS NOT excluded.raw` : '';
  return `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map(() => '?').join(', ')}) ON CONFLICT (${spec.key.join(', ')}) DO UPDATE SET ${updates.join(', ')}${unchanged}`;
}

/** The guild ids of one shard, computed from the snowflake so a changed shard count still matches. */
const SHARD_GUILDS = 'SELECT id FROM guilds WHERE (CAST(id AS INTEGER) >> 22) % ? = ?';

const MEMBER_ROW = 'SELECT 1 FROM members WHERE guild_id = ? AND user_id = ?';
const MEMBER_JOINED = `UPDATE guilds SET member_count = member_count + 1 WHERE id = ? AND NOT EXISTS (${MEMBER_ROW})`;
const MEMBER_LEFT = `UPDATE guilds SET member_count = max(member_count - 1, 0) WHERE id = ? AND EXISTS (${MEMBER_ROW})`;

/** A write without a generation belongs to the active shard set (0 before the first set is recorded). */
const ACTIVE_GENERATION = "coalesce((SELECT generation FROM shard_sets WHERE state = 'active' ORDER BY generation DESC LIMIT 1), 0)";

const SESSION_SQL =
  `INSERT INTO shard_sessions (generation, shard_id, session_id, seq, resume_gateway_url, shard_count, updated_at) VALUES (coalesce(?, ${ACTIVE_GENERATION}), ?, ?, ?, ?, ?, ?) ` +
  'ON CONFLICT (generation, shard_id) DO UPDATE SET session_id = excluded.session_id, seq = excluded.seq, resume_gateway_url = excluded.resume_gateway_url, ' +
  'shard_count = excluded.shard_count, updated_at = excluded.updated_at ' +
  // Within one session seq only moves forward; a new session (fresh identify) starts over.
  'WHERE excluded.session_id <> shard_sessions.session_id OR excluded.seq >= shard_sessions.seq';

/** Table names by their index in CACHE_TABLES (the packed form's table field). */
const TABLE_AT: readonly CacheTable[] = CACHE_TABLES;
const NOW_SLOT = Object.fromEntries(CACHE_TABLES.map((t) => [t, COLUMN_KEYS[t].indexOf('@now')])) as unknown as Readonly<Record<CacheTable, number>>;
const TABLE_INDEX = Object.fromEntries(CACHE_TABLES.map((t, i) => [t, i])) as unknown as Readonly<Record<CacheTable, number>>;

/**
 * Applies mutations with prepared statements cached per SQL text (the funnel's fast path;
 * drizzle's query builder would rebuild SQL for every row). Must run inside a transaction.
 * Mutations come as objects (`apply`) or packed in a flat array (`applyPacked`, what the
 * transaction thread receives, see packed-entries.ts); both end in the same statements.
 */
export class MutationApplier {
  readonly #db: SqliteDriver;
  readonly #statements = new Map<string, SqliteStatement>();
  /** Upsert statements by table index, replace and merge. */
  readonly #upserts: (SqliteStatement | undefined)[] = [];

  constructor(db: SqliteDriver) {
    this.#db = db;
  }

  #stmt(sql: string): SqliteStatement {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #run(sql: string, params: unknown[]): number {
    return this.#stmt(sql).run(params).changes;
  }

  /** `params` are the table's columns in SPECS order, bound, the write time in place. */
  #upsert(table: CacheTable, merge: boolean, params: unknown[]): number {
    const slot = TABLE_INDEX[table] * 2 + (merge ? 1 : 0);
    let stmt = this.#upserts[slot];
    if (!stmt) {
      stmt = this.#db.prepare(upsertSql(table, merge));
      this.#upserts[slot] = stmt;
    }
    return stmt.run(params).changes;
  }

  /** Applies one mutation; returns the number of rows SQLite changed. */
  apply(m: Mutation, now: number): number {
    switch (m.op) {
      case 'upsert': {
        const keys = COLUMN_KEYS[m.table];
        if (!keys) throw new ShardlineError('INVALID_INPUT', `Cannot upsert into unknown table ${JSON.stringify(m.table)}`);
        const row = m.row as unknown as Record<string, unknown>;
        const params = keys.map((key) => bind(key === '@now' ? now : row[key]));
        return this.#upsert(m.table, m.merge === true, params);
      }
      case 'delete':
        if ('id' in m) return this.#deleteById(m.table, m.id);
        return this.#deleteMember(m.table, m.guildId, m.userId);
      case 'markGuildUnavailable':
        return this.#markUnavailable(m.guildId, now);
      case 'deleteGuild':
        return this.#deleteGuild(m.guildId);
      case 'deleteGuildRows':
        return this.#deleteGuildRows(m.table, m.guildId, m.keepIds);
      case 'deleteThreads':
        return this.#deleteThreads(m.guildId, m.parentIds);
      case 'countMember':
        return this.#countMember(m.guildId, m.userId, m.delta);
      case 'clearShard':
        return this.#clearShard(m.shardId, m.shardCount);
      default:
        throw new ShardlineError('INVALID_INPUT', `Cannot apply mutation with unknown op ${JSON.stringify((m as { op?: unknown }).op)}`);
    }
  }

  /** Applies the packed mutation at `offset` (layout in packed-entries.ts); returns the rows SQLite changed. */
  applyPacked(values: readonly unknown[], offset: number, now: number): number {
    const op = values[offset] as number;
    switch (op) {
      case OP.upsert:
      case OP.upsertMerge: {
        const table = packedTable(values[offset + 1]);
        const start = offset + 2;
        const params = values.slice(start, start + COLUMN_KEYS[table].length);
        const slot = NOW_SLOT[table];
        if (slot >= 0) params[slot] = now;
        return this.#upsert(table, op === OP.upsertMerge, params);
      }
      case OP.deleteById:
        return this.#deleteById(packedTable(values[offset + 1]), values[offset + 2] as string);
      case OP.deleteMember:
        return this.#deleteMember(packedTable(values[offset + 1]), values[offset + 2] as string, values[offset + 3] as string);
      case OP.markGuildUnavailable:
        return this.#markUnavailable(values[offset + 1] as string, now);
      case OP.deleteGuild:
        return this.#deleteGuild(values[offset + 1] as string);
      case OP.deleteGuildRows:
        return this.#deleteGuildRows(packedTable(values[offset + 1]), values[offset + 2] as string, (values[offset + 3] as string[] | null) ?? undefined);
      case OP.deleteThreads:
        return this.#deleteThreads(values[offset + 1] as string, (values[offset + 2] as string[] | null) ?? undefined);
      case OP.clearShard:
        return this.#clearShard(values[offset + 1] as number, values[offset + 2] as number);
      case OP.countMember:
        return this.#countMember(values[offset + 1] as string, values[offset + 2] as string, values[offset + 3] as 1 | -1);
      default:
        throw new ShardlineError('INVALID_INPUT', `Cannot apply packed mutation with unknown op ${JSON.stringify(op)}`);
    }
  }

  #deleteById(table: string, id: string): number {
    return this.#run(`DELETE FROM ${tableName(table)} WHERE id = ?`, [id]);
  }

  #deleteMember(table: string, guildId: string, userId: string): number {
    return this.#run(`DELETE FROM ${tableName(table)} WHERE guild_id = ? AND user_id = ?`, [guildId, userId]);
  }

  #markUnavailable(guildId: string, now: number): number {
    return this.#run('UPDATE guilds SET unavailable = 1, updated_at = ? WHERE id = ?', [now, guildId]);
  }

  #deleteGuild(guildId: string): number {
    let changes = 0;
    for (const table of GUILD_SCOPED_TABLES) changes += this.#run(`DELETE FROM ${table} WHERE guild_id = ?`, [guildId]);
    return changes + this.#run('DELETE FROM guilds WHERE id = ?', [guildId]);
  }

  #deleteGuildRows(table: CacheTable, guildId: string, keepIds: readonly string[] | undefined): number {
    const name = tableName(table);
    if (keepIds === undefined) return this.#run(`DELETE FROM ${name} WHERE guild_id = ?`, [guildId]);
    // The row's id within its guild: the last key column (user_id for member-keyed tables).
    const id = SPECS[table].key.at(-1)!;
    return this.#run(`DELETE FROM ${name} WHERE guild_id = ? AND ${id} NOT IN (SELECT value FROM json_each(?))`, [guildId, JSON.stringify(keepIds)]);
  }

  #deleteThreads(guildId: string, parentIds: readonly string[] | undefined): number {
    if (parentIds === undefined) return this.#run('DELETE FROM channels WHERE guild_id = ? AND is_thread = 1', [guildId]);
    return this.#run('DELETE FROM channels WHERE guild_id = ? AND is_thread = 1 AND parent_id IN (SELECT value FROM json_each(?))', [guildId, JSON.stringify(parentIds)]);
  }

  #countMember(guildId: string, userId: string, delta: 1 | -1): number {
    return this.#run(delta === 1 ? MEMBER_JOINED : MEMBER_LEFT, [guildId, guildId, userId]);
  }

  #clearShard(shardId: number, shardCount: number): number {
    let changes = 0;
    const shard = [shardCount, shardId];
    for (const table of GUILD_SCOPED_TABLES) changes += this.#run(`DELETE FROM ${table} WHERE guild_id IN (${SHARD_GUILDS})`, shard);
    return changes + this.#run(`DELETE FROM guilds WHERE id IN (${SHARD_GUILDS})`, shard);
  }

  /** The shard's epoch in shard_assignments as this transaction sees it (in the active set without a generation); null without a row. */
  assignedEpoch(shardId: number, generation?: number): number | null {
    const row = this.#stmt(`SELECT epoch FROM shard_assignments WHERE generation = coalesce(?, ${ACTIVE_GENERATION}) AND shard_id = ?`).get([generation ?? null, shardId]);
    return row ? Number(row['epoch']) : null;
  }

  commitSession(shardId: number, session: SessionCommit, now: number, generation?: number): void {
    this.#stmt(SESSION_SQL).run([generation ?? null, shardId, session.sessionId, session.seq, session.resumeGatewayUrl, session.shardCount, now]);
  }
}

function packedTable(index: unknown): CacheTable {
  const table = TABLE_AT[index as number];
  if (table === undefined) throw new ShardlineError('INVALID_INPUT', `Cannot apply a packed mutation on unknown table index ${JSON.stringify(index)}`);
  return table;
}

const KNOWN_TABLES = new Set<string>(Object.keys(SPECS));

/** Table names are interpolated into SQL, so only the schema's own names get through. */
function tableName(table: string): string {
  if (!KNOWN_TABLES.has(table)) throw new ShardlineError('INVALID_INPUT', `Cannot write to unknown table ${JSON.stringify(table)}`);
  return table;
}

function bind(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

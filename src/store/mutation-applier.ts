import { ShardlineError } from '../core/errors.ts';
import { GUILD_SCOPED_TABLES } from '../core/mutation.ts';
import type { CacheTable, Mutation, SessionCommit } from '../core/mutation.ts';
import type { SqliteDriver, SqliteStatement } from '../core/sqlite.ts';

/** [column, row key]; '@now' binds the write time. */
type ColumnSpec = readonly [string, string];

interface TableSpec {
  readonly key: readonly string[];
  readonly columns: readonly ColumnSpec[];
}

const SPECS: Record<CacheTable, TableSpec> = {
  guilds: {
    key: ['id'],
    columns: [['id', 'id'], ['shard_id', 'shardId'], ['name', 'name'], ['owner_id', 'ownerId'], ['member_count', 'memberCount'], ['unavailable', 'unavailable'], ['joined_at', 'joinedAt'], ['updated_at', '@now'], ['raw', 'raw']],
  },
  channels: {
    key: ['id'],
    columns: [['id', 'id'], ['guild_id', 'guildId'], ['parent_id', 'parentId'], ['type', 'type'], ['name', 'name'], ['position', 'position'], ['is_thread', 'isThread'], ['raw', 'raw']],
  },
  roles: {
    key: ['id'],
    columns: [['id', 'id'], ['guild_id', 'guildId'], ['name', 'name'], ['position', 'position'], ['permissions', 'permissions'], ['color', 'color'], ['raw', 'raw']],
  },
  users: {
    key: ['id'],
    columns: [['id', 'id'], ['username', 'username'], ['global_name', 'globalName'], ['bot', 'bot'], ['avatar', 'avatar'], ['raw', 'raw']],
  },
  members: {
    key: ['guild_id', 'user_id'],
    columns: [['guild_id', 'guildId'], ['user_id', 'userId'], ['nick', 'nick'], ['joined_at', 'joinedAt'], ['roles', 'roles'], ['raw', 'raw']],
  },
  presences: {
    key: ['guild_id', 'user_id'],
    columns: [['guild_id', 'guildId'], ['user_id', 'userId'], ['status', 'status'], ['activities', 'activities'], ['raw', 'raw']],
  },
  voice_states: {
    key: ['guild_id', 'user_id'],
    columns: [['guild_id', 'guildId'], ['user_id', 'userId'], ['channel_id', 'channelId'], ['session_id', 'sessionId'], ['raw', 'raw']],
  },
  emojis: {
    key: ['id'],
    columns: [['id', 'id'], ['guild_id', 'guildId'], ['name', 'name'], ['animated', 'animated'], ['raw', 'raw']],
  },
};

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

/**
 * Applies mutations with prepared statements cached per SQL text (the funnel's fast path;
 * drizzle's query builder would rebuild SQL for every row). Must run inside a transaction.
 */
export class MutationApplier {
  readonly #db: SqliteDriver;
  readonly #statements = new Map<string, SqliteStatement>();
  readonly #upserts = new Map<string, SqliteStatement>();

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

  /** Applies one mutation; returns the number of rows SQLite changed. */
  apply(m: Mutation, now: number): number {
    switch (m.op) {
      case 'upsert': {
        const spec = SPECS[m.table];
        if (!spec) throw new ShardlineError('INVALID_INPUT', `Cannot upsert into unknown table ${JSON.stringify(m.table)}`);
        const row = m.row as unknown as Record<string, unknown>;
        const params = spec.columns.map(([, key]) => bind(key === '@now' ? now : row[key]));
        const merge = m.merge === true;
        const key = `${m.table}:${merge ? 'merge' : 'replace'}`;
        let stmt = this.#upserts.get(key);
        if (!stmt) {
          stmt = this.#db.prepare(upsertSql(m.table, merge));
          this.#upserts.set(key, stmt);
        }
        return stmt.run(params).changes;
      }
      case 'delete':
        if ('id' in m) return this.#run(`DELETE FROM ${tableName(m.table)} WHERE id = ?`, [m.id]);
        return this.#run(`DELETE FROM ${tableName(m.table)} WHERE guild_id = ? AND user_id = ?`, [m.guildId, m.userId]);
      case 'markGuildUnavailable':
        return this.#run('UPDATE guilds SET unavailable = 1, updated_at = ? WHERE id = ?', [now, m.guildId]);
      case 'deleteGuild': {
        let changes = 0;
        for (const table of GUILD_SCOPED_TABLES) changes += this.#run(`DELETE FROM ${table} WHERE guild_id = ?`, [m.guildId]);
        return changes + this.#run('DELETE FROM guilds WHERE id = ?', [m.guildId]);
      }
      case 'deleteGuildRows': {
        const table = tableName(m.table);
        if (m.keepIds === undefined) return this.#run(`DELETE FROM ${table} WHERE guild_id = ?`, [m.guildId]);
        // The row's id within its guild: the last key column (user_id for member-keyed tables).
        const id = SPECS[m.table].key.at(-1)!;
        return this.#run(`DELETE FROM ${table} WHERE guild_id = ? AND ${id} NOT IN (SELECT value FROM json_each(?))`, [m.guildId, JSON.stringify(m.keepIds)]);
      }
      case 'deleteThreads':
        if (m.parentIds === undefined) return this.#run('DELETE FROM channels WHERE guild_id = ? AND is_thread = 1', [m.guildId]);
        return this.#run('DELETE FROM channels WHERE guild_id = ? AND is_thread = 1 AND parent_id IN (SELECT value FROM json_each(?))', [m.guildId, JSON.stringify(m.parentIds)]);
      case 'countMember':
        return this.#run(m.delta === 1 ? MEMBER_JOINED : MEMBER_LEFT, [m.guildId, m.guildId, m.userId]);
      case 'clearShard': {
        let changes = 0;
        const shard = [m.shardCount, m.shardId];
        for (const table of GUILD_SCOPED_TABLES) changes += this.#run(`DELETE FROM ${table} WHERE guild_id IN (${SHARD_GUILDS})`, shard);
        return changes + this.#run(`DELETE FROM guilds WHERE id IN (${SHARD_GUILDS})`, shard);
      }
      default:
        throw new ShardlineError('INVALID_INPUT', `Cannot apply mutation with unknown op ${JSON.stringify((m as { op?: unknown }).op)}`);
    }
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

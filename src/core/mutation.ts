/**
 * Cache mutations and the Writer port. A mutation is plain JSON (replicas forward them to the
 * primary over HTTP) and idempotent: upserts and deletes keyed by ids, so applying a list
 * twice leaves the same rows as applying it once. Rows are column-shaped: JSON columns
 * (`raw`, `roles`, `activities`) are already serialised text.
 */

import { ShardlineError } from './errors.ts';

export interface GuildRow {
  id: string;
  shardId: number;
  name: string | null;
  ownerId: string | null;
  memberCount: number | null;
  unavailable: boolean;
  joinedAt: string | null;
  raw: string;
}
export interface ChannelRow {
  id: string;
  guildId: string;
  parentId: string | null;
  type: number;
  name: string | null;
  position: number | null;
  isThread: boolean;
  raw: string;
}
export interface RoleRow {
  id: string;
  guildId: string;
  name: string;
  position: number;
  permissions: string;
  color: number;
  raw: string;
}
export interface UserRow {
  id: string;
  username: string | null;
  globalName: string | null;
  bot: boolean | null;
  avatar: string | null;
  raw: string;
}
export interface MemberRow {
  guildId: string;
  userId: string;
  nick: string | null;
  joinedAt: string | null;
  /** JSON array of role ids. */
  roles: string;
  raw: string;
}
export interface PresenceRow {
  guildId: string;
  userId: string;
  status: string | null;
  /** JSON array of activities. */
  activities: string;
  raw: string;
}
export interface VoiceStateRow {
  guildId: string;
  userId: string;
  channelId: string | null;
  sessionId: string | null;
  raw: string;
}
export interface EmojiRow {
  id: string;
  guildId: string;
  name: string | null;
  animated: boolean;
  raw: string;
}

export interface CacheRows {
  guilds: GuildRow;
  channels: ChannelRow;
  roles: RoleRow;
  users: UserRow;
  members: MemberRow;
  presences: PresenceRow;
  voice_states: VoiceStateRow;
  emojis: EmojiRow;
}
export type CacheTable = keyof CacheRows;
export const CACHE_TABLES = ['guilds', 'channels', 'roles', 'users', 'members', 'presences', 'voice_states', 'emojis'] as const satisfies readonly CacheTable[];

/** Tables whose rows sit under one guild and go with it. */
export type GuildScopedTable = 'channels' | 'roles' | 'members' | 'presences' | 'voice_states' | 'emojis';
export const GUILD_SCOPED_TABLES = ['channels', 'roles', 'members', 'presences', 'voice_states', 'emojis'] as const satisfies readonly GuildScopedTable[];
export type IdKeyedTable = 'guilds' | 'channels' | 'roles' | 'users' | 'emojis';
export type MemberKeyedTable = 'members' | 'presences' | 'voice_states';

export type UpsertMutation = {
  [T in CacheTable]: {
    op: 'upsert';
    table: T;
    row: CacheRows[T];
    /**
     * Partial data (a presence's user, a GUILD_UPDATE without member_count): null columns keep
     * the stored value and `raw` is merged (JSON merge patch) instead of replaced.
     */
    merge?: boolean;
  };
}[CacheTable];

export type Mutation =
  | UpsertMutation
  | { op: 'delete'; table: IdKeyedTable; id: string }
  | { op: 'delete'; table: MemberKeyedTable; guildId: string; userId: string }
  /** An outage: the guild stays cached, marked unavailable. */
  | { op: 'markGuildUnavailable'; guildId: string }
  /** The bot left the guild: the guild and every row under it go. */
  | { op: 'deleteGuild'; guildId: string }
  /**
   * Replacement lists (emojis, a GUILD_CREATE snapshot) delete the old rows of one table first.
   * `keepIds` (row ids, or user ids for member-keyed tables) spares the rows the new list holds:
   * their upserts then write nothing when unchanged, instead of a delete and an insert each.
   */
  | { op: 'deleteGuildRows'; table: GuildScopedTable; guildId: string; keepIds?: string[] }
  /** THREAD_LIST_SYNC: the guild's threads, or only those under `parentIds`. */
  | { op: 'deleteThreads'; guildId: string; parentIds?: string[] }
  /** A fresh IDENTIFY (READY): the shard's guilds and everything under them are stale. */
  | { op: 'clearShard'; shardId: number; shardCount: number }
  /**
   * GUILD_MEMBER_ADD (+1) / REMOVE (-1) move the guild's member_count. Placed before the member
   * row's upsert/delete and applied only if that row is absent (+1) / present (-1), so applying it
   * twice changes nothing. A removed member who was never cached leaves the count as it is.
   */
  | { op: 'countMember'; guildId: string; userId: string; delta: 1 | -1 };

/** The resume info a write commits, in the same transaction as the cache rows up to `seq`. */
export interface SessionCommit {
  sessionId: string;
  seq: number;
  resumeGatewayUrl: string;
  shardCount: number;
}

export interface WriteEntry {
  shardId: number;
  /** The assignment epoch the sender runs the shard at (contract 5). */
  epoch: number;
  /**
   * The shard set the shard belongs to (contract 13): during a reshard two sets share shard ids.
   * Absent: the active set.
   */
  generation?: number;
  mutations: Mutation[];
  session?: SessionCommit;
}

/**
 * Where every cache write goes: the primary's funnel locally, or the forwarding writer on a
 * replica. `enqueue` resolves once the entry is accepted (at once below the high-water mark,
 * later when the writer is full: that is the back-pressure); it rejects with STALE_EPOCH
 * when the shard's epoch is no longer current, and with CLOSED after `close()`.
 */
export interface Writer {
  enqueue(entry: WriteEntry): Promise<void>;
  /**
   * Accepts the entry at once when that needs no waiting (open, current epoch, below the
   * high-water mark) and returns true, exactly as a resolved enqueue(); otherwise does nothing
   * and returns false, and the caller uses enqueue() (which waits, or rejects with the reason).
   * A shard then delivers a dispatch without a promise whenever there is no back-pressure.
   */
  offer?(entry: WriteEntry): boolean;
  /** Commits everything accepted so far; rejects with STORE_UNAVAILABLE if that failed (the entries stay queued). */
  flush(): Promise<void>;
  /** Flushes what it can, then stops every timer. */
  close(): Promise<void>;
}

/** Which shard a guild belongs to: `(guild_id >> 22) % shard_count`. */
export function shardIdForGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

type FieldKind = 'id' | 'string' | 'string?' | 'int' | 'int?' | 'bool' | 'bool?';

/** Column-shaped fields of each table's row, for checking forwarded (untrusted) JSON. */
const ROW_FIELDS: Record<CacheTable, Record<string, FieldKind>> = {
  guilds: { id: 'id', shardId: 'int', name: 'string?', ownerId: 'string?', memberCount: 'int?', unavailable: 'bool', joinedAt: 'string?', raw: 'string' },
  channels: { id: 'id', guildId: 'id', parentId: 'string?', type: 'int', name: 'string?', position: 'int?', isThread: 'bool', raw: 'string' },
  roles: { id: 'id', guildId: 'id', name: 'string', position: 'int', permissions: 'string', color: 'int', raw: 'string' },
  users: { id: 'id', username: 'string?', globalName: 'string?', bot: 'bool?', avatar: 'string?', raw: 'string' },
  members: { guildId: 'id', userId: 'id', nick: 'string?', joinedAt: 'string?', roles: 'string', raw: 'string' },
  presences: { guildId: 'id', userId: 'id', status: 'string?', activities: 'string', raw: 'string' },
  voice_states: { guildId: 'id', userId: 'id', channelId: 'string?', sessionId: 'string?', raw: 'string' },
  emojis: { id: 'id', guildId: 'id', name: 'string?', animated: 'bool', raw: 'string' },
};
const ID_KEYED = new Set<string>(['guilds', 'channels', 'roles', 'users', 'emojis']);
const MEMBER_KEYED = new Set<string>(['members', 'presences', 'voice_states']);
const SCOPED = new Set<string>(GUILD_SCOPED_TABLES);

function fieldOk(kind: FieldKind, value: unknown): boolean {
  const optional = kind.endsWith('?');
  if (optional && value === null) return true;
  switch (kind.replace('?', '')) {
    case 'id':
      return typeof value === 'string' && value.length > 0 && value.length <= 32;
    case 'string':
      return typeof value === 'string';
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value);
    default:
      return typeof value === 'boolean';
  }
}

const isIdText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 32;
const isInt = (v: unknown, min = 0): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

function mutationProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const m = value as Record<string, unknown>;
  const table = m['table'];
  switch (m['op']) {
    case 'upsert': {
      const fields = typeof table === 'string' ? ROW_FIELDS[table as CacheTable] : undefined;
      if (!fields) return `unknown table ${JSON.stringify(table)}`;
      const row = m['row'];
      if (typeof row !== 'object' || row === null) return 'row is not an object';
      for (const [key, kind] of Object.entries(fields)) {
        if (!fieldOk(kind, (row as Record<string, unknown>)[key])) return `${table}.${key} is not a valid ${kind}`;
      }
      return m['merge'] === undefined || typeof m['merge'] === 'boolean' ? undefined : 'merge is not a boolean';
    }
    case 'delete':
      if (typeof table === 'string' && ID_KEYED.has(table)) return isIdText(m['id']) ? undefined : 'id is missing';
      if (typeof table === 'string' && MEMBER_KEYED.has(table)) return isIdText(m['guildId']) && isIdText(m['userId']) ? undefined : 'guildId/userId missing';
      return `unknown table ${JSON.stringify(table)}`;
    case 'markGuildUnavailable':
    case 'deleteGuild':
      return isIdText(m['guildId']) ? undefined : 'guildId is missing';
    case 'deleteGuildRows':
      if (!(typeof table === 'string' && SCOPED.has(table) && isIdText(m['guildId']))) return 'needs a guild-scoped table and guildId';
      return m['keepIds'] === undefined || (Array.isArray(m['keepIds']) && m['keepIds'].every(isIdText)) ? undefined : 'keepIds is not a list of ids';
    case 'deleteThreads':
      if (!isIdText(m['guildId'])) return 'guildId is missing';
      return m['parentIds'] === undefined || (Array.isArray(m['parentIds']) && m['parentIds'].every(isIdText)) ? undefined : 'parentIds is not a list of ids';
    case 'countMember':
      return isIdText(m['guildId']) && isIdText(m['userId']) && (m['delta'] === 1 || m['delta'] === -1) ? undefined : 'needs guildId, userId and delta 1 or -1';
    case 'clearShard':
      return isInt(m['shardCount'], 1) && isInt(m['shardId']) && (m['shardId'] as number) < (m['shardCount'] as number) ? undefined : 'needs shardId < shardCount';
    default:
      return `unknown op ${JSON.stringify(m['op'])}`;
  }
}

/**
 * Checks a write entry that arrived as JSON (a replica's forwarded write). Names the first
 * problem of each bad mutation; nothing is coerced.
 */
export function parseWriteEntry(value: unknown): WriteEntry {
  const fail = (why: string): never => {
    throw new ShardlineError('INVALID_INPUT', `Invalid write entry: ${why}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('expected an object with shardId, epoch, mutations');
  const v = value as Record<string, unknown>;
  if (!isInt(v['shardId'])) fail(`shardId must be a non-negative integer, got ${JSON.stringify(v['shardId'])}`);
  if (!isInt(v['epoch'])) fail(`epoch must be a non-negative integer, got ${JSON.stringify(v['epoch'])}`);
  if (v['generation'] !== undefined && !isInt(v['generation'])) fail(`generation must be a non-negative integer, got ${JSON.stringify(v['generation'])}`);
  if (!Array.isArray(v['mutations'])) return fail('mutations must be an array');
  const problems: string[] = [];
  (v['mutations'] as unknown[]).forEach((m, i) => {
    const problem = mutationProblem(m);
    if (problem && problems.length < 10) problems.push(`mutations[${i}]: ${problem}`);
  });
  if (problems.length > 0) fail(problems.join('; '));
  const session = v['session'];
  if (session !== undefined) {
    const s = session as Record<string, unknown>;
    const ok = typeof session === 'object' && session !== null && typeof s['sessionId'] === 'string' && s['sessionId'] !== '' &&
      isInt(s['seq']) && typeof s['resumeGatewayUrl'] === 'string' && isInt(s['shardCount'], 1);
    if (!ok) fail('session needs sessionId, seq, resumeGatewayUrl and shardCount');
  }
  return value as WriteEntry;
}

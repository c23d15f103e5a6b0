/**
 * Cache mutations and the Writer port. A mutation is plain JSON (replicas forward them to the
 * primary over HTTP) and idempotent: upserts and deletes keyed by ids, so applying a list
 * twice leaves the same rows as applying it once. Rows are column-shaped: JSON columns
 * (`raw`, `roles`, `activities`) are already serialised text.
 */

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
  /** Replacement lists (emojis, a GUILD_CREATE snapshot) delete the old rows of one table first. */
  | { op: 'deleteGuildRows'; table: GuildScopedTable; guildId: string }
  /** THREAD_LIST_SYNC: the guild's threads, or only those under `parentIds`. */
  | { op: 'deleteThreads'; guildId: string; parentIds?: string[] }
  /** A fresh IDENTIFY (READY): the shard's guilds and everything under them are stale. */
  | { op: 'clearShard'; shardId: number; shardCount: number };

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
  /** Commits everything accepted so far; rejects with STORE_UNAVAILABLE if that failed (the entries stay queued). */
  flush(): Promise<void>;
  /** Flushes what it can, then stops every timer. */
  close(): Promise<void>;
}

/** Which shard a guild belongs to: `(guild_id >> 22) % shard_count`. */
export function shardIdForGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

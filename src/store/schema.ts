/**
 * The database of shardline: the bot's cache (filled from gateway dispatches) and the
 * cluster's own tables. drizzle-kit generates `migrations/` from this file.
 *
 * Cache rows keep typed, indexed columns for what people filter and join on, plus `raw`: the
 * Discord object as JSON text, so `json_extract(raw, '$.field')` reaches everything else.
 * Snowflakes are TEXT (they overflow JS numbers). Times written by shardline are integer
 * milliseconds since the epoch; times that come from Discord stay ISO-8601 text.
 * No foreign keys between cache tables: dispatches arrive in any order (a member chunk may
 * come before its guild row) and cascades are explicit in the write path.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const guilds = sqliteTable(
  'guilds',
  {
    id: text('id').primaryKey(),
    /** (id >> 22) % shard_count, computed when the row is written. */
    shardId: integer('shard_id').notNull(),
    name: text('name'),
    ownerId: text('owner_id'),
    memberCount: integer('member_count'),
    unavailable: integer('unavailable', { mode: 'boolean' }).notNull().default(false),
    joinedAt: text('joined_at'),
    updatedAt: integer('updated_at').notNull(),
    raw: text('raw').notNull(),
  },
  (t) => [index('guilds_shard_id_idx').on(t.shardId)],
);

/** Guild channels and threads (threads have `is_thread = 1` and their parent in `parent_id`). */
export const channels = sqliteTable(
  'channels',
  {
    id: text('id').primaryKey(),
    guildId: text('guild_id').notNull(),
    parentId: text('parent_id'),
    type: integer('type').notNull(),
    name: text('name'),
    position: integer('position'),
    isThread: integer('is_thread', { mode: 'boolean' }).notNull().default(false),
    raw: text('raw').notNull(),
  },
  (t) => [index('channels_guild_id_idx').on(t.guildId), index('channels_parent_id_idx').on(t.parentId)],
);

export const roles = sqliteTable(
  'roles',
  {
    id: text('id').primaryKey(),
    guildId: text('guild_id').notNull(),
    name: text('name').notNull(),
    position: integer('position').notNull(),
    /** Permission bit set as a decimal string (it exceeds 53 bits). */
    permissions: text('permissions').notNull(),
    color: integer('color').notNull().default(0),
    raw: text('raw').notNull(),
  },
  (t) => [index('roles_guild_id_idx').on(t.guildId)],
);

/** Users are shared by every guild; a row may be partial (a presence names only the id). */
export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  username: text('username'),
  globalName: text('global_name'),
  bot: integer('bot', { mode: 'boolean' }),
  avatar: text('avatar'),
  raw: text('raw').notNull(),
});

export const members = sqliteTable(
  'members',
  {
    guildId: text('guild_id').notNull(),
    userId: text('user_id').notNull(),
    nick: text('nick'),
    joinedAt: text('joined_at'),
    /** JSON array of role ids. */
    roles: text('roles').notNull().default('[]'),
    raw: text('raw').notNull(),
  },
  (t) => [primaryKey({ columns: [t.guildId, t.userId] }), index('members_user_id_idx').on(t.userId)],
);

export const presences = sqliteTable(
  'presences',
  {
    guildId: text('guild_id').notNull(),
    userId: text('user_id').notNull(),
    status: text('status'),
    /** JSON array of activities. */
    activities: text('activities').notNull().default('[]'),
    raw: text('raw').notNull(),
  },
  (t) => [primaryKey({ columns: [t.guildId, t.userId] }), index('presences_user_id_idx').on(t.userId)],
);

export const voiceStates = sqliteTable(
  'voice_states',
  {
    guildId: text('guild_id').notNull(),
    userId: text('user_id').notNull(),
    channelId: text('channel_id'),
    sessionId: text('session_id'),
    raw: text('raw').notNull(),
  },
  (t) => [primaryKey({ columns: [t.guildId, t.userId] }), index('voice_states_channel_id_idx').on(t.channelId)],
);

export const emojis = sqliteTable(
  'emojis',
  {
    id: text('id').primaryKey(),
    guildId: text('guild_id').notNull(),
    name: text('name'),
    animated: integer('animated', { mode: 'boolean' }).notNull().default(false),
    raw: text('raw').notNull(),
  },
  (t) => [index('emojis_guild_id_idx').on(t.guildId)],
);

// ---- cluster tables -------------------------------------------------------------------

export const nodes = sqliteTable('nodes', {
  id: text('id').primaryKey(),
  /** Where other nodes reach this node's internal HTTP routes. */
  url: text('url').notNull(),
  version: text('version').notNull(),
  startedAt: integer('started_at').notNull(),
  lastHeartbeatAt: integer('last_heartbeat_at').notNull(),
  draining: integer('draining', { mode: 'boolean' }).notNull().default(false),
  /** How many shards the node is willing to run; null = no limit. */
  capacity: integer('capacity'),
  /** JSON: region, machine id, load figures the node reports with its heartbeat. */
  meta: text('meta').notNull().default('{}'),
});

/**
 * The bot's shard sets: one `active`, and during a reshard one `pending` beside it (contract 13).
 * A set's shards are `[0..shard_count-1, shard_count]`; rows of other tables name their set by
 * its generation.
 */
export const shardSets = sqliteTable(
  'shard_sets',
  {
    generation: integer('generation').primaryKey(),
    shardCount: integer('shard_count').notNull(),
    /** active | pending | retired | aborted */
    state: text('state').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    /** JSON: the reshard that made the set (trigger, from, switched groups, why it stopped). */
    detail: text('detail').notNull().default(sql`'{}'`),
  },
  (t) => [index('shard_sets_state_idx').on(t.state)],
);

export const shardAssignments = sqliteTable(
  'shard_assignments',
  {
    /** The shard set (shard_sets.generation) the shard belongs to. */
    generation: integer('generation').notNull().default(0),
    shardId: integer('shard_id').notNull(),
    /** Null while the shard waits for an owner. */
    nodeId: text('node_id'),
    /** Grows on every change of owner or state; writes carrying an older epoch are refused. */
    epoch: integer('epoch').notNull(),
    /** assigned | detached (a manual handoff waits for its resume) | retired (its range switched to the next set) */
    state: text('state').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.generation, t.shardId] }), index('shard_assignments_node_id_idx').on(t.nodeId)],
);

export const shardSessions = sqliteTable('shard_sessions', {
  generation: integer('generation').notNull().default(0),
  shardId: integer('shard_id').notNull(),
  sessionId: text('session_id').notNull(),
  /** Last sequence number whose cache effects are committed in the same transaction. */
  seq: integer('seq').notNull(),
  resumeGatewayUrl: text('resume_gateway_url').notNull(),
  shardCount: integer('shard_count').notNull(),
  updatedAt: integer('updated_at').notNull(),
}, (t) => [primaryKey({ columns: [t.generation, t.shardId] })]);

/** One row per IDENTIFY granted; the daily session_start_limit is counted from it. */
export const identifyLedger = sqliteTable(
  'identify_ledger',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    startedAt: integer('started_at').notNull(),
    shardId: integer('shard_id').notNull(),
    /** The shard set the IDENTIFY was for: a reshard's spend is its new generation's rows. */
    generation: integer('generation').notNull().default(0),
    nodeId: text('node_id').notNull(),
    /** shard_id % max_concurrency (shared by every set: Discord keys buckets by shard id alone) */
    bucket: integer('bucket').notNull(),
    /** session_start_limit as Discord last reported it, when known. */
    limitTotal: integer('limit_total'),
    limitRemaining: integer('limit_remaining'),
    limitResetAt: integer('limit_reset_at'),
  },
  (t) => [index('identify_ledger_started_at_idx').on(t.startedAt), index('identify_ledger_bucket_idx').on(t.bucket, t.startedAt)],
);

export const clusterEvents = sqliteTable(
  'cluster_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    /** join | leave | move | handoff | failover | takeover | drain | stale_epoch | ... */
    kind: text('kind').notNull(),
    nodeId: text('node_id'),
    shardId: integer('shard_id'),
    detail: text('detail').notNull().default(sql`'{}'`),
  },
  (t) => [index('cluster_events_at_idx').on(t.at), index('cluster_events_shard_id_idx').on(t.shardId)],
);

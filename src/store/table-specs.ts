/** The cache tables' columns as the write path binds them, in one order for every path. */
import type { CacheTable } from '../core/mutation.ts';

/** [column, row key]; '@now' binds the write time. */
export type ColumnSpec = readonly [string, string];

export interface TableSpec {
  readonly key: readonly string[];
  readonly columns: readonly ColumnSpec[];
}

export const SPECS: Record<CacheTable, TableSpec> = {
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

/** Each table's row keys in column order ('@now' where the write time goes). */
export const COLUMN_KEYS: Readonly<Record<CacheTable, readonly string[]>> = Object.fromEntries(
  Object.entries(SPECS).map(([table, spec]) => [table, spec.columns.map(([, key]) => key)]),
) as unknown as Record<CacheTable, readonly string[]>;

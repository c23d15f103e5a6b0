/**
 * Gateway dispatch -> cache mutations. Pure: no clock, no database. Payloads come from the
 * network, so every item is checked for the ids it needs and skipped (not thrown) when a
 * field is missing; events that do not touch the cache map to [].
 */
import type {
  APIChannel,
  APIEmoji,
  APIGuildMember,
  APIRole,
  APIUser,
  APIVoiceState,
  GatewayChannelModifyDispatchData,
  GatewayGuildCreateDispatchData,
  GatewayGuildDeleteDispatchData,
  GatewayGuildEmojisUpdateDispatchData,
  GatewayGuildMemberAddDispatchData,
  GatewayGuildMemberRemoveDispatchData,
  GatewayGuildMembersChunkDispatchData,
  GatewayGuildMemberUpdateDispatchData,
  GatewayGuildRoleDeleteDispatchData,
  GatewayGuildRoleModifyDispatchData,
  GatewayGuildUpdateDispatchData,
  GatewayPresenceUpdate,
  GatewayReadyDispatchData,
  GatewayThreadDeleteDispatchData,
  GatewayThreadListSync,
  GatewayUserUpdateDispatchData,
  GatewayVoiceStateUpdateDispatchData,
} from 'discord-api-types/v10';
import { shardIdForGuild } from '../core/mutation.ts';
import type { GuildRow, Mutation, UserRow } from '../core/mutation.ts';

export interface DispatchLike {
  t: string;
  d: unknown;
}

const SNOWFLAKE = /^\d{1,20}$/;
const isId = (value: unknown): value is string => typeof value === 'string' && SNOWFLAKE.test(value);
/** The objects of a list from the payload; anything that is not an array is no list. */
const objects = <T>(value: readonly (T | null | undefined)[] | null | undefined): T[] => (Array.isArray(value) ? (value as readonly unknown[]).filter((item): item is T => typeof item === 'object' && item !== null) : []);
const textOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const numberOrNull = (value: unknown): number | null => (typeof value === 'number' ? value : null);

/** Arrays of GUILD_CREATE that live in their own tables (or are not cached), left out of `guilds.raw`. */
const GUILD_CHILD_KEYS = new Set(['channels', 'threads', 'members', 'presences', 'voice_states', 'roles', 'emojis']);

const THREAD_TYPES = new Set([10, 11, 12]);

/**
 * The valid ids of a replacement list: the rows its deleteGuildRows keeps (and re-upserts).
 * `idOf` picks the row's id within the guild (a user id for member-keyed tables).
 */
function idsOf<T>(items: readonly (T | null | undefined)[] | undefined, idOf: (item: T) => unknown = (item) => (item as { id?: unknown }).id): string[] {
  const out: string[] = [];
  for (const item of objects<T>(items)) {
    const id = idOf(item);
    if (isId(id)) out.push(id);
  }
  return out;
}

export function dispatchMutations(payload: DispatchLike, shardId: number, shardCount: number): Mutation[] {
  const d = payload.d;
  if (typeof d !== 'object' || d === null) return [];
  switch (payload.t) {
    case 'READY':
      return ready(d as GatewayReadyDispatchData, shardId, shardCount);
    case 'GUILD_CREATE':
      return guildCreate(d as GatewayGuildCreateDispatchData, shardCount);
    case 'GUILD_UPDATE':
      return guildUpdate(d as GatewayGuildUpdateDispatchData, shardCount);
    case 'GUILD_DELETE':
      return guildDelete(d as GatewayGuildDeleteDispatchData);
    case 'CHANNEL_CREATE':
    case 'CHANNEL_UPDATE':
    case 'THREAD_CREATE':
    case 'THREAD_UPDATE':
      return channelUpsert(d as GatewayChannelModifyDispatchData);
    case 'CHANNEL_DELETE':
      return channelDelete(d as GatewayChannelModifyDispatchData);
    case 'THREAD_DELETE':
      return isId((d as GatewayThreadDeleteDispatchData).id) ? [{ op: 'delete', table: 'channels', id: (d as GatewayThreadDeleteDispatchData).id }] : [];
    case 'THREAD_LIST_SYNC':
      return threadListSync(d as GatewayThreadListSync);
    case 'GUILD_ROLE_CREATE':
    case 'GUILD_ROLE_UPDATE':
      return roleUpsert(d as GatewayGuildRoleModifyDispatchData);
    case 'GUILD_ROLE_DELETE':
      return isId((d as GatewayGuildRoleDeleteDispatchData).role_id) ? [{ op: 'delete', table: 'roles', id: (d as GatewayGuildRoleDeleteDispatchData).role_id }] : [];
    case 'GUILD_MEMBER_ADD': {
      const m = d as GatewayGuildMemberAddDispatchData;
      const rows = isId(m.guild_id) ? memberMutations(m.guild_id, m) : [];
      return rows.length === 0 ? [] : [{ op: 'countMember', guildId: m.guild_id, userId: m.user!.id, delta: 1 }, ...rows];
    }
    case 'GUILD_MEMBER_UPDATE': {
      const m = d as GatewayGuildMemberUpdateDispatchData;
      return isId(m.guild_id) ? memberMutations(m.guild_id, m as APIGuildMember) : [];
    }
    case 'GUILD_MEMBER_REMOVE':
      return memberRemove(d as GatewayGuildMemberRemoveDispatchData);
    case 'GUILD_MEMBERS_CHUNK':
      return membersChunk(d as GatewayGuildMembersChunkDispatchData);
    case 'PRESENCE_UPDATE': {
      const p = d as GatewayPresenceUpdate & { guild_id?: string };
      return isId(p.guild_id) ? presenceMutations(p.guild_id, p) : [];
    }
    case 'USER_UPDATE': {
      const user = userRow(d as GatewayUserUpdateDispatchData);
      return user ? [{ op: 'upsert', table: 'users', row: user }] : [];
    }
    case 'GUILD_EMOJIS_UPDATE':
      return emojisUpdate(d as GatewayGuildEmojisUpdateDispatchData);
    case 'VOICE_STATE_UPDATE':
      return voiceStateUpdate(d as GatewayVoiceStateUpdateDispatchData);
    default:
      return [];
  }
}

function ready(d: GatewayReadyDispatchData, shardId: number, shardCount: number): Mutation[] {
  const out: Mutation[] = [{ op: 'clearShard', shardId, shardCount }];
  const user = userRow(d.user);
  if (user) out.push({ op: 'upsert', table: 'users', row: user });
  return out;
}

function guildCreate(d: GatewayGuildCreateDispatchData, shardCount: number): Mutation[] {
  if (!isId(d.id)) return [];
  if ((d as { unavailable?: boolean }).unavailable === true) return [{ op: 'markGuildUnavailable', guildId: d.id }];
  const guildId = d.id;
  const out: Mutation[] = [{ op: 'upsert', table: 'guilds', row: guildRow(d, shardCount, numberOrNull(d.member_count), textOrNull(d.joined_at)) }];
  // A GUILD_CREATE is a snapshot: channels, roles, emojis, voice states and presences are
  // complete (absent presence = offline). Members are not (large guilds), so they are only upserted.
  const channels = [...objects(d.channels), ...objects(d.threads)];
  out.push(
    { op: 'deleteGuildRows', table: 'channels', guildId, keepIds: idsOf(channels) },
    { op: 'deleteGuildRows', table: 'roles', guildId, keepIds: idsOf(d.roles) },
    { op: 'deleteGuildRows', table: 'emojis', guildId, keepIds: idsOf(d.emojis) },
    { op: 'deleteGuildRows', table: 'voice_states', guildId, keepIds: idsOf(d.voice_states, (v) => v.user_id) },
    { op: 'deleteGuildRows', table: 'presences', guildId, keepIds: idsOf(d.presences, (p) => (p.user as { id?: unknown } | undefined)?.id) },
  );
  for (const channel of channels) out.push(...channelUpsert(channel, guildId));
  for (const role of objects(d.roles)) out.push(...roleUpsert({ guild_id: guildId, role }));
  for (const emoji of objects(d.emojis)) out.push(...emojiUpsert(guildId, emoji));
  for (const member of objects(d.members)) out.push(...memberMutations(guildId, member));
  for (const presence of objects(d.presences)) out.push(...presenceMutations(guildId, presence as GatewayPresenceUpdate));
  for (const state of objects(d.voice_states)) out.push(...voiceStateUpdate({ ...state, guild_id: guildId } as APIVoiceState));
  return out;
}

function guildUpdate(d: GatewayGuildUpdateDispatchData, shardCount: number): Mutation[] {
  if (!isId(d.id)) return [];
  const guildId = d.id;
  // GUILD_UPDATE lacks member_count and joined_at: merge so the GUILD_CREATE values stay.
  const out: Mutation[] = [{ op: 'upsert', table: 'guilds', row: guildRow(d, shardCount, null, null), merge: true }];
  if (Array.isArray(d.roles)) {
    out.push({ op: 'deleteGuildRows', table: 'roles', guildId, keepIds: idsOf(d.roles) });
    for (const role of d.roles) out.push(...roleUpsert({ guild_id: guildId, role }));
  }
  if (Array.isArray(d.emojis)) {
    out.push({ op: 'deleteGuildRows', table: 'emojis', guildId, keepIds: idsOf(d.emojis) });
    for (const emoji of objects(d.emojis)) out.push(...emojiUpsert(guildId, emoji));
  }
  return out;
}

function guildDelete(d: GatewayGuildDeleteDispatchData): Mutation[] {
  if (!isId(d.id)) return [];
  return d.unavailable === true ? [{ op: 'markGuildUnavailable', guildId: d.id }] : [{ op: 'deleteGuild', guildId: d.id }];
}

function guildRow(d: GatewayGuildUpdateDispatchData, shardCount: number, memberCount: number | null, joinedAt: string | null): GuildRow {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(d)) if (!GUILD_CHILD_KEYS.has(key)) raw[key] = value;
  return {
    id: d.id,
    shardId: shardIdForGuild(d.id, shardCount),
    name: typeof d.name === 'string' ? d.name : null,
    ownerId: isId(d.owner_id) ? d.owner_id : null,
    memberCount,
    unavailable: false,
    joinedAt,
    raw: JSON.stringify(raw),
  };
}

function channelUpsert(channel: APIChannel, fallbackGuildId?: string): Mutation[] {
  const c = channel as APIChannel & { guild_id?: string; parent_id?: string | null; position?: number; name?: string | null };
  const guildId = isId(c.guild_id) ? c.guild_id : fallbackGuildId;
  // DM and group DM channels have no guild and are not cached.
  if (!isId(c.id) || !isId(guildId) || typeof c.type !== 'number') return [];
  return [
    {
      op: 'upsert',
      table: 'channels',
      row: {
        id: c.id,
        guildId,
        parentId: isId(c.parent_id) ? c.parent_id : null,
        type: c.type,
        name: typeof c.name === 'string' ? c.name : null,
        position: typeof c.position === 'number' ? c.position : null,
        isThread: THREAD_TYPES.has(c.type),
        raw: JSON.stringify(fallbackGuildId && !c.guild_id ? { ...c, guild_id: guildId } : c),
      },
    },
  ];
}

function channelDelete(d: GatewayChannelModifyDispatchData): Mutation[] {
  const c = d as APIChannel & { guild_id?: string };
  if (!isId(c.id) || !isId(c.guild_id)) return [];
  // Discord removes a channel's threads with it without always sending THREAD_DELETE.
  return [
    { op: 'delete', table: 'channels', id: c.id },
    { op: 'deleteThreads', guildId: c.guild_id, parentIds: [c.id] },
  ];
}

function threadListSync(d: GatewayThreadListSync): Mutation[] {
  if (!isId(d.guild_id)) return [];
  const parentIds = Array.isArray(d.channel_ids) ? d.channel_ids.filter(isId) : undefined;
  const out: Mutation[] = [parentIds ? { op: 'deleteThreads', guildId: d.guild_id, parentIds } : { op: 'deleteThreads', guildId: d.guild_id }];
  for (const thread of objects(d.threads)) out.push(...channelUpsert(thread as APIChannel, d.guild_id));
  return out;
}

function roleUpsert(d: GatewayGuildRoleModifyDispatchData): Mutation[] {
  const role: APIRole | undefined = d.role;
  if (!isId(d.guild_id) || !role || !isId(role.id)) return [];
  const colors = (role as { colors?: { primary_color?: unknown } | null }).colors;
  const color = numberOrNull(typeof colors === 'object' ? colors?.primary_color : undefined) ?? numberOrNull(role.color) ?? 0;
  return [
    {
      op: 'upsert',
      table: 'roles',
      row: {
        id: role.id,
        guildId: d.guild_id,
        name: typeof role.name === 'string' ? role.name : '',
        position: typeof role.position === 'number' ? role.position : 0,
        permissions: typeof role.permissions === 'string' ? role.permissions : '0',
        color,
        raw: JSON.stringify(role),
      },
    },
  ];
}

function emojiUpsert(guildId: string, emoji: APIEmoji): Mutation[] {
  if (!isId(emoji.id)) return [];
  return [{ op: 'upsert', table: 'emojis', row: { id: emoji.id, guildId, name: textOrNull(emoji.name), animated: emoji.animated === true, raw: JSON.stringify(emoji) } }];
}

function emojisUpdate(d: GatewayGuildEmojisUpdateDispatchData): Mutation[] {
  if (!isId(d.guild_id)) return [];
  const out: Mutation[] = [{ op: 'deleteGuildRows', table: 'emojis', guildId: d.guild_id, keepIds: idsOf(d.emojis) }];
  for (const emoji of objects(d.emojis)) out.push(...emojiUpsert(d.guild_id, emoji));
  return out;
}

function userRow(user: APIUser | undefined): UserRow | undefined {
  if (!user || !isId(user.id)) return undefined;
  return {
    id: user.id,
    username: typeof user.username === 'string' ? user.username : null,
    globalName: typeof user.global_name === 'string' ? user.global_name : null,
    bot: typeof user.bot === 'boolean' ? user.bot : null,
    avatar: typeof user.avatar === 'string' ? user.avatar : null,
    raw: JSON.stringify(user),
  };
}

function memberMutations(guildId: string, member: APIGuildMember & { guild_id?: string }): Mutation[] {
  const user = userRow(member.user);
  if (!user) return [];
  const { user: _user, guild_id: _guildId, ...rest } = member;
  return [
    { op: 'upsert', table: 'users', row: user },
    {
      op: 'upsert',
      table: 'members',
      row: {
        guildId,
        userId: user.id,
        nick: typeof member.nick === 'string' ? member.nick : null,
        joinedAt: typeof member.joined_at === 'string' ? member.joined_at : null,
        roles: JSON.stringify(Array.isArray(member.roles) ? member.roles.filter(isId) : []),
        raw: JSON.stringify(rest),
      },
    },
  ];
}

function memberRemove(d: GatewayGuildMemberRemoveDispatchData): Mutation[] {
  if (!isId(d.guild_id) || !d.user || !isId(d.user.id)) return [];
  const key = { guildId: d.guild_id, userId: d.user.id };
  return [
    { op: 'countMember', ...key, delta: -1 },
    { op: 'delete', table: 'members', ...key },
    { op: 'delete', table: 'presences', ...key },
  ];
}

function membersChunk(d: GatewayGuildMembersChunkDispatchData): Mutation[] {
  if (!isId(d.guild_id)) return [];
  const out: Mutation[] = [];
  for (const member of objects(d.members)) out.push(...memberMutations(d.guild_id, member));
  for (const presence of objects(d.presences)) out.push(...presenceMutations(d.guild_id, presence as GatewayPresenceUpdate));
  return out;
}

function presenceMutations(guildId: string, presence: GatewayPresenceUpdate): Mutation[] {
  const partialUser = presence.user as Partial<APIUser> | undefined;
  if (!partialUser || !isId(partialUser.id)) return [];
  const { user: _user, guild_id: _guildId, ...rest } = presence as GatewayPresenceUpdate & { guild_id?: string };
  const out: Mutation[] = [
    {
      op: 'upsert',
      table: 'presences',
      row: {
        guildId,
        userId: partialUser.id,
        status: typeof presence.status === 'string' ? presence.status : null,
        activities: JSON.stringify(Array.isArray(presence.activities) ? presence.activities : []),
        raw: JSON.stringify(rest),
      },
    },
  ];
  // The user is partial (often only the id): merge so known fields are not blanked.
  if (hasMoreThanOneKey(partialUser)) {
    const user = userRow(partialUser as APIUser);
    if (user) out.push({ op: 'upsert', table: 'users', row: user, merge: true });
  }
  return out;
}

/** Object.keys(o).length > 1 without the array (a presence's user is checked on every PRESENCE_UPDATE). */
function hasMoreThanOneKey(o: object): boolean {
  let n = 0;
  for (const key in o) if (Object.hasOwn(o, key) && ++n > 1) return true;
  return false;
}

function voiceStateUpdate(d: GatewayVoiceStateUpdateDispatchData): Mutation[] {
  if (!isId(d.guild_id) || !isId(d.user_id)) return [];
  if (d.channel_id === null || d.channel_id === undefined) {
    return [{ op: 'delete', table: 'voice_states', guildId: d.guild_id, userId: d.user_id }];
  }
  const { member, ...state } = d;
  const out: Mutation[] = [
    {
      op: 'upsert',
      table: 'voice_states',
      row: {
        guildId: d.guild_id,
        userId: d.user_id,
        channelId: isId(d.channel_id) ? d.channel_id : null,
        sessionId: typeof d.session_id === 'string' ? d.session_id : null,
        raw: JSON.stringify(state),
      },
    },
  ];
  if (member) out.push(...memberMutations(d.guild_id, member));
  return out;
}

import { GatewayDispatchEvents, PresenceUpdateStatus } from 'discord-api-types/v10';
import type {
  GatewayChannelDeleteDispatchData,
  GatewayGuildDeleteDispatchData,
  GatewayGuildEmojisUpdateDispatchData,
  GatewayGuildMemberAddDispatchData,
  GatewayGuildMemberRemoveDispatchData,
  GatewayGuildMembersChunkDispatchData,
  GatewayGuildMemberUpdateDispatchData,
  GatewayGuildRoleCreateDispatchData,
  GatewayGuildRoleDeleteDispatchData,
  GatewayMessageCreateDispatchData,
  GatewayReadyDispatchData,
  GatewayThreadDeleteDispatchData,
  GatewayThreadListSyncDispatchData,
  GatewayUserUpdateDispatchData,
  GatewayVoiceStateUpdateDispatchData,
} from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import type { Mutation } from '../core/mutation.ts';
import { guild, guildCreate, guildIdOnShard, member, presence, role, textChannel, thread, user } from '../../test/store/discord-fixtures.ts';
import { dispatchMutations } from './dispatch-mutations.ts';

const G = guildIdOnShard(3, 16);
const map = (t: string, d: unknown, shardId = 3, shardCount = 16): Mutation[] => dispatchMutations({ t, d }, shardId, shardCount);
const ops = (ms: Mutation[]) => ms.map((m) => ('table' in m ? `${m.op}:${m.table}` : m.op));

describe('dispatchMutations', () => {
  it('READY clears the shard and stores the bot user', () => {
    const d = { v: 10, user: user('99', { bot: true }), guilds: [{ id: G, unavailable: true }], session_id: 's', resume_gateway_url: 'wss://x', application: { id: '1', flags: 0 }, shard: [3, 16] } as unknown as GatewayReadyDispatchData;
    const ms = map(GatewayDispatchEvents.Ready, d);
    expect(ms[0]).toEqual({ op: 'clearShard', shardId: 3, shardCount: 16 });
    expect(ms[1]).toMatchObject({ op: 'upsert', table: 'users', row: { id: '99', bot: true } });
  });

  it('GUILD_CREATE replaces the snapshot tables and upserts every child, with the shard computed from the id', () => {
    const d = guildCreate(G, {
      member_count: 7,
      channels: [textChannel('10', G)],
      threads: [thread('11', G, '10')],
      members: [member('1', { nick: 'n', roles: ['5'] })],
      presences: [presence('1', PresenceUpdateStatus.Online)],
      voice_states: [{ user_id: '1', channel_id: '10', session_id: 'v', deaf: false, mute: false, self_deaf: false, self_mute: false, self_video: false, suppress: false, request_to_speak_timestamp: null }],
      emojis: [{ id: '20', name: 'e', animated: true }],
    });
    const ms = map(GatewayDispatchEvents.GuildCreate, d);
    expect(ops(ms)).toEqual([
      'upsert:guilds',
      'deleteGuildRows:channels', 'deleteGuildRows:roles', 'deleteGuildRows:emojis', 'deleteGuildRows:voice_states', 'deleteGuildRows:presences',
      'upsert:channels', 'upsert:channels', 'upsert:roles', 'upsert:emojis', 'upsert:users', 'upsert:members', 'upsert:presences', 'upsert:voice_states',
    ]);
    const g = ms[0] as Extract<Mutation, { table: 'guilds' }> & { op: 'upsert' };
    expect(g.row).toMatchObject({ id: G, shardId: 3, memberCount: 7, unavailable: false, joinedAt: '2024-01-01T00:00:00.000Z' });
    expect(JSON.parse(g.row.raw)).not.toHaveProperty('members');
    expect(ms.filter((m) => m.op === 'upsert' && m.table === 'channels').map((m) => (m as { row: { isThread: boolean } }).row.isThread)).toEqual([false, true]);
    expect(ms.find((m) => m.op === 'upsert' && m.table === 'members')).toMatchObject({ row: { guildId: G, userId: '1', nick: 'n', roles: '["5"]' } });
    expect(ms.find((m) => m.op === 'upsert' && m.table === 'voice_states')).toMatchObject({ row: { guildId: G, userId: '1', channelId: '10' } });
    expect(ms.find((m) => m.op === 'upsert' && m.table === 'emojis')).toMatchObject({ row: { id: '20', guildId: G, animated: true } });
  });

  it('GUILD_CREATE of an unavailable guild only marks it', () => {
    expect(map(GatewayDispatchEvents.GuildCreate, { id: G, unavailable: true })).toEqual([{ op: 'markGuildUnavailable', guildId: G }]);
  });

  it('GUILD_UPDATE merges (keeps member_count and joined_at) and replaces roles', () => {
    const ms = map(GatewayDispatchEvents.GuildUpdate, guild(G, { name: 'new', roles: [role('5')] }));
    expect(ms[0]).toMatchObject({ op: 'upsert', table: 'guilds', merge: true, row: { name: 'new', memberCount: null, joinedAt: null } });
    expect(ops(ms)).toEqual(['upsert:guilds', 'deleteGuildRows:roles', 'upsert:roles', 'deleteGuildRows:emojis']);
  });

  it('GUILD_DELETE marks an outage and removes a left guild', () => {
    expect(map(GatewayDispatchEvents.GuildDelete, { id: G, unavailable: true } satisfies GatewayGuildDeleteDispatchData)).toEqual([{ op: 'markGuildUnavailable', guildId: G }]);
    expect(map(GatewayDispatchEvents.GuildDelete, { id: G } as GatewayGuildDeleteDispatchData)).toEqual([{ op: 'deleteGuild', guildId: G }]);
  });

  it('CHANNEL_CREATE/UPDATE upsert and CHANNEL_DELETE removes the channel and its threads; DM channels are ignored', () => {
    for (const t of [GatewayDispatchEvents.ChannelCreate, GatewayDispatchEvents.ChannelUpdate]) {
      expect(map(t, textChannel('10', G, { name: 'x', position: 4 }))).toEqual([
        { op: 'upsert', table: 'channels', row: expect.objectContaining({ id: '10', guildId: G, name: 'x', position: 4, type: 0, isThread: false }) },
      ]);
    }
    expect(map(GatewayDispatchEvents.ChannelDelete, textChannel('10', G) as GatewayChannelDeleteDispatchData)).toEqual([
      { op: 'delete', table: 'channels', id: '10' },
      { op: 'deleteThreads', guildId: G, parentIds: ['10'] },
    ]);
    expect(map(GatewayDispatchEvents.ChannelCreate, { id: '12', type: 1, recipients: [] })).toEqual([]);
  });

  it('THREAD_CREATE/UPDATE upsert threads, THREAD_DELETE removes by id', () => {
    for (const t of [GatewayDispatchEvents.ThreadCreate, GatewayDispatchEvents.ThreadUpdate]) {
      expect(map(t, thread('11', G, '10'))).toEqual([{ op: 'upsert', table: 'channels', row: expect.objectContaining({ id: '11', parentId: '10', isThread: true }) }]);
    }
    const d: GatewayThreadDeleteDispatchData = { id: '11', guild_id: G, parent_id: '10', type: 11 };
    expect(map(GatewayDispatchEvents.ThreadDelete, d)).toEqual([{ op: 'delete', table: 'channels', id: '11' }]);
  });

  it('THREAD_LIST_SYNC clears the listed parents (or the whole guild) before upserting', () => {
    const partial: GatewayThreadListSyncDispatchData = { guild_id: G, channel_ids: ['10'], threads: [thread('11', G, '10')], members: [] };
    expect(ops(map(GatewayDispatchEvents.ThreadListSync, partial))).toEqual(['deleteThreads', 'upsert:channels']);
    expect(map(GatewayDispatchEvents.ThreadListSync, partial)[0]).toEqual({ op: 'deleteThreads', guildId: G, parentIds: ['10'] });
    const whole: GatewayThreadListSyncDispatchData = { guild_id: G, threads: [], members: [] };
    expect(map(GatewayDispatchEvents.ThreadListSync, whole)).toEqual([{ op: 'deleteThreads', guildId: G }]);
  });

  it('GUILD_ROLE_CREATE/UPDATE upsert from the wrapper shape, GUILD_ROLE_DELETE removes', () => {
    for (const t of [GatewayDispatchEvents.GuildRoleCreate, GatewayDispatchEvents.GuildRoleUpdate]) {
      const d: GatewayGuildRoleCreateDispatchData = { guild_id: G, role: role('5', { permissions: '8', colors: { primary_color: 255, secondary_color: null, tertiary_color: null } }) };
      expect(map(t, d)).toEqual([{ op: 'upsert', table: 'roles', row: expect.objectContaining({ id: '5', guildId: G, permissions: '8', color: 255 }) }]);
    }
    const del: GatewayGuildRoleDeleteDispatchData = { guild_id: G, role_id: '5' };
    expect(map(GatewayDispatchEvents.GuildRoleDelete, del)).toEqual([{ op: 'delete', table: 'roles', id: '5' }]);
  });

  it('GUILD_MEMBER_ADD/UPDATE upsert user and member, GUILD_MEMBER_REMOVE removes member and presence', () => {
    const add = { ...member('1', { nick: 'a' }), guild_id: G } as GatewayGuildMemberAddDispatchData;
    expect(ops(map(GatewayDispatchEvents.GuildMemberAdd, add))).toEqual(['countMember', 'upsert:users', 'upsert:members']);
    expect(map(GatewayDispatchEvents.GuildMemberAdd, add)[0]).toEqual({ op: 'countMember', guildId: G, userId: '1', delta: 1 });
    const update = { ...member('1', { nick: null, roles: ['5'] }), guild_id: G } as GatewayGuildMemberUpdateDispatchData;
    const ms = map(GatewayDispatchEvents.GuildMemberUpdate, update);
    expect(ms[1]).toMatchObject({ op: 'upsert', table: 'members', row: { nick: null, roles: '["5"]' } });
    expect(JSON.parse((ms[1] as { row: { raw: string } }).row.raw)).not.toHaveProperty('user');
    const remove: GatewayGuildMemberRemoveDispatchData = { guild_id: G, user: user('1') };
    expect(map(GatewayDispatchEvents.GuildMemberRemove, remove)).toEqual([
      { op: 'countMember', guildId: G, userId: '1', delta: -1 },
      { op: 'delete', table: 'members', guildId: G, userId: '1' },
      { op: 'delete', table: 'presences', guildId: G, userId: '1' },
    ]);
  });

  it('GUILD_MEMBERS_CHUNK upserts members and their presences', () => {
    const d: GatewayGuildMembersChunkDispatchData = { guild_id: G, members: [member('1'), member('2')], chunk_index: 0, chunk_count: 1, presences: [presence('2', PresenceUpdateStatus.DoNotDisturb)] };
    expect(ops(map(GatewayDispatchEvents.GuildMembersChunk, d))).toEqual(['upsert:users', 'upsert:members', 'upsert:users', 'upsert:members', 'upsert:presences']);
  });

  it('PRESENCE_UPDATE upserts the presence and merges (never blanks) a partial user', () => {
    const onlyId = map(GatewayDispatchEvents.PresenceUpdate, { ...presence('1', PresenceUpdateStatus.Idle), guild_id: G });
    expect(onlyId).toEqual([{ op: 'upsert', table: 'presences', row: expect.objectContaining({ guildId: G, userId: '1', status: 'idle', activities: '[]' }) }]);
    const withName = map(GatewayDispatchEvents.PresenceUpdate, { ...presence('1', PresenceUpdateStatus.Online, { username: 'renamed' }), guild_id: G });
    expect(withName[1]).toMatchObject({ op: 'upsert', table: 'users', merge: true, row: { id: '1', username: 'renamed', globalName: null } });
  });

  it('USER_UPDATE replaces the user', () => {
    const d: GatewayUserUpdateDispatchData = user('99', { username: 'bot2' });
    expect(map(GatewayDispatchEvents.UserUpdate, d)).toEqual([{ op: 'upsert', table: 'users', row: expect.objectContaining({ id: '99', username: 'bot2' }) }]);
  });

  it('GUILD_EMOJIS_UPDATE is a full replacement', () => {
    const d: GatewayGuildEmojisUpdateDispatchData = { guild_id: G, emojis: [{ id: '21', name: 'x' }] };
    expect(map(GatewayDispatchEvents.GuildEmojisUpdate, d)).toEqual([
      { op: 'deleteGuildRows', table: 'emojis', guildId: G, keepIds: ['21'] },
      { op: 'upsert', table: 'emojis', row: expect.objectContaining({ id: '21', guildId: G, animated: false }) },
    ]);
  });

  it('VOICE_STATE_UPDATE upserts (with its member) and deletes when channel_id is null', () => {
    const base: GatewayVoiceStateUpdateDispatchData = {
      guild_id: G, user_id: '1', channel_id: '10', session_id: 'v', deaf: false, mute: false, self_deaf: false, self_mute: false,
      self_video: false, suppress: false, request_to_speak_timestamp: null, member: member('1'),
    };
    expect(ops(map(GatewayDispatchEvents.VoiceStateUpdate, base))).toEqual(['upsert:voice_states', 'upsert:users', 'upsert:members']);
    expect(map(GatewayDispatchEvents.VoiceStateUpdate, { ...base, channel_id: null })).toEqual([{ op: 'delete', table: 'voice_states', guildId: G, userId: '1' }]);
  });

  it('events that do not touch the cache, and malformed payloads, map to nothing', () => {
    const message = { id: '1', channel_id: '10', guild_id: G } as GatewayMessageCreateDispatchData;
    expect(map(GatewayDispatchEvents.MessageCreate, message)).toEqual([]);
    expect(map(GatewayDispatchEvents.TypingStart, { channel_id: '10' })).toEqual([]);
    expect(map(GatewayDispatchEvents.GuildCreate, null)).toEqual([]);
    expect(map(GatewayDispatchEvents.GuildMemberAdd, { guild_id: G, user: { id: 'not a snowflake' } })).toEqual([]);
    expect(map(GatewayDispatchEvents.GuildRoleCreate, { guild_id: G })).toEqual([]);
  });

  it('every mutation survives a JSON round trip unchanged', () => {
    const ms = map(GatewayDispatchEvents.GuildCreate, guildCreate(G, { members: [member('1')], channels: [textChannel('10', G)] }));
    expect(JSON.parse(JSON.stringify(ms))).toEqual(ms);
  });
});

/** Each found by the payload fuzz (dispatch-mutations.fuzz.test.ts); named after what broke. */
describe('dispatchMutations regressions from the gateway fuzz', () => {
  const scalar = (value: unknown): boolean => value === null || value === undefined || ['string', 'number', 'boolean'].includes(typeof value);
  const rowsAreScalar = (ms: Mutation[]): boolean => ms.every((m) => m.op !== 'upsert' || Object.values(m.row).every(scalar));

  it('regression: a list field that is not an array (emojis: 0, members: "x") threw and lost the dispatch', () => {
    expect(() => map(GatewayDispatchEvents.GuildEmojisUpdate, { guild_id: G, emojis: 0 })).not.toThrow();
    expect(() => map(GatewayDispatchEvents.GuildMembersChunk, { guild_id: G, members: 'x', presences: 7 })).not.toThrow();
    expect(() => map(GatewayDispatchEvents.GuildCreate, guildCreate(G, { channels: 5 as never, threads: {} as never, roles: true as never }))).not.toThrow();
    expect(map(GatewayDispatchEvents.GuildEmojisUpdate, { guild_id: G, emojis: 0 })).toEqual([{ op: 'deleteGuildRows', table: 'emojis', guildId: G, keepIds: [] }]);
  });

  it('regression: a null item in a list (members: [null], emojis: [null]) threw and lost the dispatch', () => {
    const ms = map(GatewayDispatchEvents.GuildCreate, guildCreate(G, { members: [null, member('5')] as never, emojis: [null] as never, presences: [null] as never, voice_states: [null] as never, roles: [null] as never }));
    expect(ops(ms).filter((o) => o === 'upsert:members')).toHaveLength(1);
    expect(() => map(GatewayDispatchEvents.GuildUpdate, { ...guild(G), emojis: [null, 3] })).not.toThrow();
    expect(() => map(GatewayDispatchEvents.ThreadListSync, { guild_id: G, threads: [null] })).not.toThrow();
  });

  it('regression: an object where a column takes text or a number (role color, emoji name, member_count, joined_at) made SQLite refuse the entry, and its seq with it', () => {
    expect(rowsAreScalar(map(GatewayDispatchEvents.GuildRoleCreate, { guild_id: G, role: role('7', { colors: { primary_color: {} } as never }) }))).toBe(true);
    expect(rowsAreScalar(map(GatewayDispatchEvents.GuildRoleUpdate, { guild_id: G, role: role('7', { color: [] as never, colors: 'red' as never }) }))).toBe(true);
    expect(rowsAreScalar(map(GatewayDispatchEvents.GuildEmojisUpdate, { guild_id: G, emojis: [{ id: '8', name: { x: 1 } }] }))).toBe(true);
    expect(rowsAreScalar(map(GatewayDispatchEvents.GuildCreate, guildCreate(G, { member_count: {} as never, joined_at: [] as never })))).toBe(true);
  });
});

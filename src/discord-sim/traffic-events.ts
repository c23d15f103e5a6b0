import { ApplicationCommandType, ChannelType, InteractionType, MessageType, PresenceUpdateStatus } from 'discord-api-types/v10';
import type {
  APIBaseVoiceState,
  APIGuildMember,
  GatewayChannelCreateDispatchData,
  MessageFlags,
  GatewayGuildEmojisUpdateDispatchData,
  GatewayGuildMemberAddDispatchData,
  GatewayGuildMemberRemoveDispatchData,
  GatewayGuildMemberUpdateDispatchData,
  GatewayGuildRoleCreateDispatchData,
  GatewayGuildRoleDeleteDispatchData,
  GatewayInteractionCreateDispatchData,
  GatewayMessageCreateDispatchData,
  GatewayThreadCreateDispatchData,
  GatewayThreadDeleteDispatchData,
  GatewayUserUpdateDispatchData,
  GatewayVoiceStateUpdateDispatchData,
} from 'discord-api-types/v10';
import type { SeededRandom } from './seeded-random.ts';
import type { World, WorldGuild } from './world.ts';
import type { TrafficPicks } from './traffic-picks.ts';
import { PRESENCE_STATUSES, makeEmoji, makeMember, makePresence, makeRole, makeTextChannel, makeThread } from './world-entities.ts';

export const TRAFFIC_EVENTS = [
  'MESSAGE_CREATE',
  'PRESENCE_UPDATE',
  'GUILD_MEMBER_ADD',
  'GUILD_MEMBER_UPDATE',
  'GUILD_MEMBER_REMOVE',
  'CHANNEL_CREATE',
  'CHANNEL_UPDATE',
  'CHANNEL_DELETE',
  'THREAD_CREATE',
  'THREAD_UPDATE',
  'THREAD_DELETE',
  'GUILD_ROLE_CREATE',
  'GUILD_ROLE_UPDATE',
  'GUILD_ROLE_DELETE',
  'GUILD_UPDATE',
  'GUILD_EMOJIS_UPDATE',
  'VOICE_STATE_UPDATE',
  'USER_UPDATE',
  'INTERACTION_CREATE',
] as const;

export type TrafficEvent = (typeof TRAFFIC_EVENTS)[number];
export type TrafficMix = Partial<Record<TrafficEvent, number>>;

/** Messages and presences dominate real traffic; structure changes are rare. */
export const DEFAULT_TRAFFIC_MIX: Readonly<Record<TrafficEvent, number>> = {
  MESSAGE_CREATE: 50,
  PRESENCE_UPDATE: 20,
  GUILD_MEMBER_ADD: 3,
  GUILD_MEMBER_UPDATE: 4,
  GUILD_MEMBER_REMOVE: 2,
  CHANNEL_CREATE: 1,
  CHANNEL_UPDATE: 2,
  CHANNEL_DELETE: 1,
  THREAD_CREATE: 2,
  THREAD_UPDATE: 2,
  THREAD_DELETE: 1,
  GUILD_ROLE_CREATE: 1,
  GUILD_ROLE_UPDATE: 2,
  GUILD_ROLE_DELETE: 1,
  GUILD_UPDATE: 1,
  GUILD_EMOJIS_UPDATE: 1,
  VOICE_STATE_UPDATE: 4,
  USER_UPDATE: 0.05,
  // Off unless asked for: a new kind with weight 0 leaves every existing seed's stream unchanged.
  INTERACTION_CREATE: 0,
};

/** Where generated events go: a guild's shard, or shard 0 for guild-less events. */
export interface TrafficSink {
  toGuild(guildId: string, event: string, data: unknown): void;
  global(event: string, data: unknown): void;
}

export interface TrafficContext {
  world: World;
  random: SeededRandom;
  sink: TrafficSink;
  picks: TrafficPicks;
}

type Generator = (ctx: TrafficContext, wg: WorldGuild) => boolean;

function pickHuman(ctx: TrafficContext, wg: WorldGuild): APIGuildMember | undefined {
  const id = ctx.random.pick(ctx.picks.humans(wg));
  return id === undefined ? undefined : wg.members.get(id);
}

/** A message in a text channel or thread, as MESSAGE_CREATE carries it (member without user). */
export function buildMessage(world: World, wg: WorldGuild, channelId: string, author: APIGuildMember, content: string): GatewayMessageCreateDispatchData {
  const id = world.minter.mint();
  const { user, ...member } = author;
  const channel = wg.channels.get(channelId) ?? wg.threads.get(channelId);
  if (channel && 'last_message_id' in channel) channel.last_message_id = id;
  const message: GatewayMessageCreateDispatchData = {
    id,
    channel_id: channelId,
    guild_id: wg.id,
    author: user,
    member,
    content,
    timestamp: world.minter.nowIso(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    components: [],
    pinned: false,
    type: MessageType.Default,
    flags: 0 as MessageFlags,
  };
  world.messages.remember(message);
  return message;
}

const generators: Record<TrafficEvent, Generator> = {
  MESSAGE_CREATE(ctx, wg) {
    const author = pickHuman(ctx, wg);
    const channelId = ctx.random.chance(0.1) ? ctx.random.pick(ctx.picks.threads(wg)) : ctx.random.pick(ctx.picks.textChannels(wg));
    if (!author || !channelId) return false;
    ctx.world.minter.advance(ctx.random.int(0, 3));
    ctx.sink.toGuild(wg.id, 'MESSAGE_CREATE', buildMessage(ctx.world, wg, channelId, author, `message ${ctx.random.int(0, 1_000_000)}`));
    return true;
  },
  PRESENCE_UPDATE(ctx, wg) {
    const member = pickHuman(ctx, wg);
    if (!member) return false;
    const presence = makePresence(member.user.id, wg.id, ctx.random.pick(PRESENCE_STATUSES)!);
    wg.presences.set(member.user.id, presence);
    ctx.sink.toGuild(wg.id, 'PRESENCE_UPDATE', presence);
    return true;
  },
  GUILD_MEMBER_ADD(ctx, wg) {
    const { world } = ctx;
    const start = ctx.random.int(1, Math.max(1, world.userIds.length - 1));
    let userId: string | undefined;
    for (let i = 0; i < world.userIds.length; i += 1) {
      const candidate = world.userIds[(start + i) % world.userIds.length]!;
      if (candidate !== world.botUser.id && !wg.members.has(candidate)) {
        userId = candidate;
        break;
      }
    }
    if (!userId) return false;
    const member = makeMember(world.users.get(userId)!, [], world.minter.nowIso());
    wg.members.set(userId, member);
    ctx.picks.membersChanged(wg);
    wg.presences.set(userId, makePresence(userId, wg.id, PresenceUpdateStatus.Offline));
    const data: GatewayGuildMemberAddDispatchData = { ...member, guild_id: wg.id };
    ctx.sink.toGuild(wg.id, 'GUILD_MEMBER_ADD', data);
    return true;
  },
  GUILD_MEMBER_UPDATE(ctx, wg) {
    const member = pickHuman(ctx, wg);
    if (!member) return false;
    const roleIds = [...wg.roles.keys()].filter((id) => id !== wg.id);
    member.nick = ctx.random.chance(0.5) ? `nick-${ctx.random.int(0, 9999)}` : null;
    member.roles = roleIds.filter(() => ctx.random.chance(0.3));
    const data: GatewayGuildMemberUpdateDispatchData = { ...member, guild_id: wg.id } as GatewayGuildMemberUpdateDispatchData;
    ctx.sink.toGuild(wg.id, 'GUILD_MEMBER_UPDATE', data);
    return true;
  },
  GUILD_MEMBER_REMOVE(ctx, wg) {
    const member = pickHuman(ctx, wg);
    if (!member || member.user.id === wg.guild.owner_id) return false;
    const voice = wg.voiceStates.get(member.user.id);
    if (voice) {
      // Discord disconnects a leaving member from voice and says so before the removal.
      wg.voiceStates.delete(member.user.id);
      const left: GatewayVoiceStateUpdateDispatchData = { ...voice, channel_id: null, guild_id: wg.id };
      ctx.sink.toGuild(wg.id, 'VOICE_STATE_UPDATE', left);
    }
    wg.members.delete(member.user.id);
    ctx.picks.membersChanged(wg);
    wg.presences.delete(member.user.id);
    const data: GatewayGuildMemberRemoveDispatchData = { guild_id: wg.id, user: member.user };
    ctx.sink.toGuild(wg.id, 'GUILD_MEMBER_REMOVE', data);
    return true;
  },
  CHANNEL_CREATE(ctx, wg) {
    const id = ctx.world.minter.mint();
    const channel = makeTextChannel(id, wg.id, `created-${ctx.random.int(0, 99_999)}`, wg.channels.size, null);
    wg.channels.set(id, channel);
    ctx.picks.channelsChanged(wg);
    const data: GatewayChannelCreateDispatchData = { ...channel, guild_id: wg.id };
    ctx.sink.toGuild(wg.id, 'CHANNEL_CREATE', data);
    return true;
  },
  CHANNEL_UPDATE(ctx, wg) {
    const id = ctx.random.pick(ctx.picks.textChannels(wg));
    const channel = id === undefined ? undefined : wg.channels.get(id);
    if (!channel || channel.type !== ChannelType.GuildText) return false;
    channel.topic = `topic ${ctx.random.int(0, 99_999)}`;
    ctx.sink.toGuild(wg.id, 'CHANNEL_UPDATE', channel);
    return true;
  },
  CHANNEL_DELETE(ctx, wg) {
    // Only thread-less text channels other than the system channel go, so no dangling references.
    const parents = new Set([...wg.threads.values()].map((t) => t.parent_id));
    const candidates = ctx.picks.textChannels(wg).filter((id) => !parents.has(id) && id !== wg.guild.system_channel_id);
    const id = ctx.random.pick(candidates);
    if (id === undefined) return false;
    const channel = wg.channels.get(id)!;
    wg.channels.delete(id);
    ctx.picks.channelsChanged(wg);
    ctx.sink.toGuild(wg.id, 'CHANNEL_DELETE', channel);
    return true;
  },
  THREAD_CREATE(ctx, wg) {
    const parentId = ctx.random.pick(ctx.picks.textChannels(wg));
    const owner = pickHuman(ctx, wg);
    if (!parentId || !owner) return false;
    const id = ctx.world.minter.mint();
    const thread = makeThread(id, wg.id, parentId, owner.user.id, `thread-${ctx.random.int(0, 99_999)}`, ctx.world.minter.nowIso());
    wg.threads.set(id, thread);
    ctx.picks.threadsChanged(wg);
    const data: GatewayThreadCreateDispatchData = { ...thread, newly_created: true };
    ctx.sink.toGuild(wg.id, 'THREAD_CREATE', data);
    return true;
  },
  THREAD_UPDATE(ctx, wg) {
    const id = ctx.random.pick(ctx.picks.threads(wg));
    const thread = id === undefined ? undefined : wg.threads.get(id);
    if (!thread) return false;
    thread.name = `thread-${ctx.random.int(0, 99_999)}`;
    ctx.sink.toGuild(wg.id, 'THREAD_UPDATE', thread);
    return true;
  },
  THREAD_DELETE(ctx, wg) {
    const id = ctx.random.pick(ctx.picks.threads(wg));
    const thread = id === undefined ? undefined : wg.threads.get(id);
    if (!thread || wg.threads.size <= 1) return false;
    wg.threads.delete(thread.id);
    ctx.picks.threadsChanged(wg);
    const data: GatewayThreadDeleteDispatchData = { id: thread.id, guild_id: wg.id, parent_id: thread.parent_id!, type: thread.type };
    ctx.sink.toGuild(wg.id, 'THREAD_DELETE', data);
    return true;
  },
  GUILD_ROLE_CREATE(ctx, wg) {
    const id = ctx.world.minter.mint();
    const role = makeRole(id, `role-${ctx.random.int(0, 99_999)}`, wg.roles.size, ctx.random.int(0, 0xffffff));
    wg.roles.set(id, role);
    const data: GatewayGuildRoleCreateDispatchData = { guild_id: wg.id, role };
    ctx.sink.toGuild(wg.id, 'GUILD_ROLE_CREATE', data);
    return true;
  },
  GUILD_ROLE_UPDATE(ctx, wg) {
    const id = ctx.random.pick([...wg.roles.keys()].filter((r) => r !== wg.id));
    const role = id === undefined ? undefined : wg.roles.get(id);
    if (!role) return false;
    role.color = ctx.random.int(0, 0xffffff);
    role.colors = { primary_color: role.color, secondary_color: null, tertiary_color: null };
    role.hoist = !role.hoist;
    ctx.sink.toGuild(wg.id, 'GUILD_ROLE_UPDATE', { guild_id: wg.id, role });
    return true;
  },
  GUILD_ROLE_DELETE(ctx, wg) {
    // Only roles nobody holds are deleted, so member role lists stay exact without extra events.
    const held = new Set<string>();
    for (const member of wg.members.values()) for (const r of member.roles) held.add(r);
    const id = ctx.random.pick([...wg.roles.keys()].filter((r) => r !== wg.id && !held.has(r)));
    if (id === undefined) return false;
    wg.roles.delete(id);
    const data: GatewayGuildRoleDeleteDispatchData = { guild_id: wg.id, role_id: id };
    ctx.sink.toGuild(wg.id, 'GUILD_ROLE_DELETE', data);
    return true;
  },
  GUILD_UPDATE(ctx, wg) {
    wg.guild.description = `description ${ctx.random.int(0, 99_999)}`;
    ctx.sink.toGuild(wg.id, 'GUILD_UPDATE', ctx.world.guildObject(wg.id));
    return true;
  },
  GUILD_EMOJIS_UPDATE(ctx, wg) {
    if (wg.emojis.size > 1 && ctx.random.chance(0.4)) {
      wg.emojis.delete(ctx.random.pick([...wg.emojis.keys()])!);
    } else {
      const id = ctx.world.minter.mint();
      wg.emojis.set(id, makeEmoji(id, `emoji_${ctx.random.int(0, 99_999)}`));
    }
    const data: GatewayGuildEmojisUpdateDispatchData = { guild_id: wg.id, emojis: [...wg.emojis.values()] };
    ctx.sink.toGuild(wg.id, 'GUILD_EMOJIS_UPDATE', data);
    return true;
  },
  VOICE_STATE_UPDATE(ctx, wg) {
    const member = pickHuman(ctx, wg);
    const voiceIds = [...wg.channels.values()].filter((c) => c.type === ChannelType.GuildVoice).map((c) => c.id);
    if (!member || voiceIds.length === 0) return false;
    const userId = member.user.id;
    const leave = wg.voiceStates.has(userId) && ctx.random.chance(0.5);
    const channelId = leave ? null : ctx.random.pick(voiceIds)!;
    const state: APIBaseVoiceState = {
      channel_id: channelId,
      user_id: userId,
      member,
      session_id: `voice-${userId}`,
      deaf: false,
      mute: false,
      self_deaf: false,
      self_mute: ctx.random.chance(0.3),
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    };
    if (channelId === null) wg.voiceStates.delete(userId);
    else wg.voiceStates.set(userId, state);
    const data: GatewayVoiceStateUpdateDispatchData = { ...state, guild_id: wg.id };
    ctx.sink.toGuild(wg.id, 'VOICE_STATE_UPDATE', data);
    return true;
  },
  INTERACTION_CREATE(ctx, wg) {
    const member = pickHuman(ctx, wg);
    const channelId = ctx.random.pick(ctx.picks.textChannels(wg));
    if (!member || !channelId) return false;
    const { world } = ctx;
    const id = world.minter.mint();
    const token = `sim-interaction-${id}-${ctx.random.int(0, 0x7fffffff).toString(36)}`;
    world.addInteraction({ id, token, guildId: wg.id, createdAt: Date.now(), responses: 0, refused: 0 });
    // A /ping slash command, as Discord sends one in a guild (member with permissions, no user).
    const data = {
      id,
      application_id: world.application.id,
      type: InteractionType.ApplicationCommand,
      data: { id: world.application.id, name: 'ping', type: ApplicationCommandType.ChatInput },
      guild_id: wg.id,
      guild: { id: wg.id, locale: 'en-US', features: [] },
      channel_id: channelId,
      channel: { id: channelId, type: ChannelType.GuildText },
      member: { ...member, permissions: '1071698660929' },
      token,
      version: 1,
      app_permissions: '1071698660929',
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': wg.id },
      context: 0,
      attachment_size_limit: 10_485_760,
    } as unknown as GatewayInteractionCreateDispatchData;
    ctx.sink.toGuild(wg.id, 'INTERACTION_CREATE', data);
    return true;
  },
  USER_UPDATE(ctx) {
    const bot = ctx.world.botUser;
    bot.global_name = `Sim Bot ${ctx.random.int(0, 9999)}`;
    const data: GatewayUserUpdateDispatchData = bot;
    ctx.sink.global('USER_UPDATE', data);
    return true;
  },
};

/** Generates one event of `kind` for a random guild; falls back to a message when `kind` has nothing to act on. */
export function generateEvent(ctx: TrafficContext, kind: TrafficEvent): TrafficEvent | null {
  const guildId = ctx.random.pick(ctx.world.guildIds());
  const wg = guildId === undefined ? undefined : ctx.world.guilds.get(guildId);
  if (!wg) return null;
  if (generators[kind](ctx, wg)) return kind;
  if (kind !== 'MESSAGE_CREATE' && generators.MESSAGE_CREATE(ctx, wg)) return 'MESSAGE_CREATE';
  return generators.PRESENCE_UPDATE(ctx, wg) ? 'PRESENCE_UPDATE' : null;
}

/** Typed Discord payloads for the store's tests (discord-api-types/v10, never hand-written shapes). */
import {
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildSystemChannelFlags,
  GuildVerificationLevel,
  Locale,
} from 'discord-api-types/v10';
import type {
  APIGuild,
  APIGuildMember,
  APIRole,
  APITextChannel,
  APIThreadChannel,
  APIUser,
  GatewayGuildCreateDispatchData,
  GatewayPresenceUpdate,
} from 'discord-api-types/v10';

/** A guild id that lands on shard `shard` of `count`: (id >> 22) % count === shard. */
export function guildIdOnShard(shard: number, count: number, n = 1): string {
  return String((BigInt(n * count + shard) << 22n) + 12345n);
}

export function user(id: string, extra: Partial<APIUser> = {}): APIUser {
  return { id, username: `user${id}`, discriminator: '0', global_name: `User ${id}`, avatar: null, ...extra };
}

export function role(id: string, extra: Partial<APIRole> = {}): APIRole {
  return {
    id, name: `role${id}`, color: 0, colors: { primary_color: 0, secondary_color: null, tertiary_color: null }, hoist: false,
    position: 1, permissions: '0', managed: false, mentionable: false, flags: 0 as APIRole['flags'], ...extra,
  };
}

export function member(userId: string, extra: Partial<APIGuildMember> = {}): APIGuildMember {
  return {
    user: user(userId), nick: null, roles: [], joined_at: '2024-01-01T00:00:00.000Z', deaf: false, mute: false, flags: 0,
    avatar: null, banner: null, ...extra,
  } as APIGuildMember;
}

export function textChannel(id: string, guildId: string, extra: Partial<APITextChannel> = {}): APITextChannel {
  return { id, guild_id: guildId, type: ChannelType.GuildText, name: `chan${id}`, position: 0, parent_id: null, nsfw: false, last_message_id: null, flags: 0, ...extra } as APITextChannel;
}

export function thread(id: string, guildId: string, parentId: string): APIThreadChannel {
  return {
    id, guild_id: guildId, parent_id: parentId, type: ChannelType.PublicThread, name: `thread${id}`, flags: 0, last_message_id: null,
    rate_limit_per_user: 0, nsfw: false, member_count: 1, message_count: 0, total_message_sent: 0,
    thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: '2024-01-01T00:00:00.000Z', locked: false },
  } as unknown as APIThreadChannel;
}

export function presence(userId: string, status: GatewayPresenceUpdate['status'], userExtra: Partial<APIUser> = {}): GatewayPresenceUpdate {
  return { user: { id: userId, ...userExtra }, status, activities: [], client_status: { desktop: status } } as unknown as GatewayPresenceUpdate;
}

export function guild(id: string, extra: Partial<APIGuild> = {}): APIGuild {
  return {
    id, name: `guild${id}`, icon: null, splash: null, discovery_splash: null, owner_id: '1', afk_channel_id: null, afk_timeout: 300,
    verification_level: GuildVerificationLevel.None, default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
    explicit_content_filter: GuildExplicitContentFilter.Disabled, roles: [role(id, { name: '@everyone', position: 0 })], emojis: [],
    features: [], mfa_level: GuildMFALevel.None, application_id: null, system_channel_id: null, system_channel_flags: 0 as GuildSystemChannelFlags,
    rules_channel_id: null, vanity_url_code: null, description: null, banner: null, premium_tier: GuildPremiumTier.None,
    preferred_locale: Locale.EnglishUS, public_updates_channel_id: null, nsfw_level: GuildNSFWLevel.Default, stickers: [],
    premium_progress_bar_enabled: false, hub_type: null, safety_alerts_channel_id: null, incidents_data: null, ...extra,
  } as APIGuild;
}

export function guildCreate(id: string, extra: Partial<GatewayGuildCreateDispatchData> = {}): GatewayGuildCreateDispatchData {
  return {
    ...guild(id), joined_at: '2024-01-01T00:00:00.000Z', large: false, member_count: 1, voice_states: [], members: [], channels: [],
    threads: [], presences: [], stage_instances: [], guild_scheduled_events: [], soundboard_sounds: [], ...extra,
  } as GatewayGuildCreateDispatchData;
}

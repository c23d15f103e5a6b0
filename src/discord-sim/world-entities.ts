import { ChannelType, GuildDefaultMessageNotifications, GuildExplicitContentFilter, GuildMFALevel, GuildNSFWLevel, GuildPremiumTier, GuildSystemChannelFlags, GuildVerificationLevel, PresenceUpdateStatus, ThreadAutoArchiveDuration } from 'discord-api-types/v10';
import type {
  APIEmoji,
  APIGuild,
  APIGuildCategoryChannel,
  APIGuildMember,
  APIGuildVoiceChannel,
  APIRole,
  APITextChannel,
  APIPublicThreadChannel,
  APIUser,
  ChannelFlags,
  GuildMemberFlags,
  RoleFlags,
  UserFlags,
  GatewayPresenceUpdate,
} from 'discord-api-types/v10';

const NO_USER_FLAGS = 0 as UserFlags;
const NO_CHANNEL_FLAGS = 0 as ChannelFlags;

/** Builders for the world's objects, typed against discord-api-types so shapes match v10. */

export function makeUser(id: string, index: number, bot = false): APIUser {
  return {
    id,
    username: bot ? 'shardline-sim-bot' : `user${index}`,
    discriminator: '0',
    global_name: bot ? 'Sim Bot' : `User ${index}`,
    avatar: null,
    bot,
    flags: NO_USER_FLAGS,
    public_flags: NO_USER_FLAGS,
  };
}

export function makeGuildBase(id: string, index: number, ownerId: string): APIGuild {
  return {
    id,
    name: `guild-${index}`,
    icon: null,
    splash: null,
    discovery_splash: null,
    banner: null,
    description: null,
    owner_id: ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: GuildVerificationLevel.Low,
    default_message_notifications: GuildDefaultMessageNotifications.OnlyMentions,
    explicit_content_filter: GuildExplicitContentFilter.Disabled,
    roles: [],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: GuildMFALevel.None,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: GuildSystemChannelFlags.SuppressJoinNotifications,
    rules_channel_id: null,
    vanity_url_code: null,
    premium_tier: GuildPremiumTier.None,
    premium_subscription_count: 0,
    preferred_locale: 'en-US' as APIGuild['preferred_locale'],
    public_updates_channel_id: null,
    nsfw_level: GuildNSFWLevel.Default,
    premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null,
    max_members: 500_000,
    max_video_channel_users: 25,
    region: 'deprecated',
    hub_type: null,
    incidents_data: null,
  };
}

/** The @everyone role shares the guild's id, as on Discord. */
export function makeRole(id: string, name: string, position: number, color: number): APIRole {
  return {
    id,
    name,
    color,
    colors: { primary_color: color, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position,
    permissions: position === 0 ? '1071698660929' : '0',
    managed: false,
    mentionable: false,
    flags: 0 as RoleFlags,
  };
}

export function makeCategory(id: string, guildId: string, name: string, position: number): APIGuildCategoryChannel {
  return { id, guild_id: guildId, type: ChannelType.GuildCategory, name, position, permission_overwrites: [], nsfw: false, parent_id: null, flags: NO_CHANNEL_FLAGS };
}

export function makeTextChannel(id: string, guildId: string, name: string, position: number, parentId: string | null): APITextChannel {
  return {
    id,
    guild_id: guildId,
    type: ChannelType.GuildText,
    name,
    position,
    permission_overwrites: [],
    nsfw: false,
    parent_id: parentId,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
    default_auto_archive_duration: ThreadAutoArchiveDuration.OneDay,
    flags: NO_CHANNEL_FLAGS,
  };
}

export function makeVoiceChannel(id: string, guildId: string, name: string, position: number, parentId: string | null): APIGuildVoiceChannel {
  return {
    id,
    guild_id: guildId,
    type: ChannelType.GuildVoice,
    name,
    position,
    permission_overwrites: [],
    nsfw: false,
    parent_id: parentId,
    bitrate: 64_000,
    user_limit: 0,
    rtc_region: null,
    last_message_id: null,
    rate_limit_per_user: 0,
    flags: NO_CHANNEL_FLAGS,
  };
}

export function makeThread(id: string, guildId: string, parentId: string, ownerId: string, name: string, createdIso: string): APIPublicThreadChannel {
  return {
    id,
    guild_id: guildId,
    type: ChannelType.PublicThread,
    name,
    parent_id: parentId,
    owner_id: ownerId,
    last_message_id: null,
    rate_limit_per_user: 0,
    message_count: 0,
    member_count: 1,
    total_message_sent: 0,
    flags: NO_CHANNEL_FLAGS,
    applied_tags: [],
    thread_metadata: {
      archived: false,
      auto_archive_duration: ThreadAutoArchiveDuration.OneDay,
      archive_timestamp: createdIso,
      locked: false,
      create_timestamp: createdIso,
    },
  };
}

export function makeEmoji(id: string, name: string): APIEmoji {
  return { id, name, roles: [], require_colons: true, managed: false, animated: false, available: true };
}

export function makeMember(user: APIUser, roles: string[], joinedAt: string): APIGuildMember {
  return {
    user,
    nick: null,
    avatar: null,
    banner: null,
    roles,
    joined_at: joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0 as GuildMemberFlags,
    pending: false,
    communication_disabled_until: null,
  };
}

export const PRESENCE_STATUSES = [
  PresenceUpdateStatus.Online,
  PresenceUpdateStatus.Idle,
  PresenceUpdateStatus.DoNotDisturb,
  PresenceUpdateStatus.Offline,
] as const;

export function makePresence(userId: string, guildId: string, status: (typeof PRESENCE_STATUSES)[number]): GatewayPresenceUpdate {
  return {
    user: { id: userId },
    guild_id: guildId,
    status,
    activities: [],
    client_status: status === PresenceUpdateStatus.Offline ? {} : { desktop: status },
  };
}

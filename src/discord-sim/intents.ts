import { GatewayIntentBits } from 'discord-api-types/v10';
import type { GatewayMessageCreateDispatchData } from 'discord-api-types/v10';

/** Every intent bit Discord documents (bits 0-16, 20, 21, 24, 25); anything else closes 4013. */
export const VALID_INTENTS_MASK = 53_608_447;

export const PRIVILEGED_INTENTS =
  GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;

/** Which intent gates each dispatch the sim sends; events not listed are always sent. */
const EVENT_INTENTS: Readonly<Record<string, number>> = {
  GUILD_CREATE: GatewayIntentBits.Guilds,
  GUILD_UPDATE: GatewayIntentBits.Guilds,
  GUILD_DELETE: GatewayIntentBits.Guilds,
  GUILD_ROLE_CREATE: GatewayIntentBits.Guilds,
  GUILD_ROLE_UPDATE: GatewayIntentBits.Guilds,
  GUILD_ROLE_DELETE: GatewayIntentBits.Guilds,
  CHANNEL_CREATE: GatewayIntentBits.Guilds,
  CHANNEL_UPDATE: GatewayIntentBits.Guilds,
  CHANNEL_DELETE: GatewayIntentBits.Guilds,
  CHANNEL_PINS_UPDATE: GatewayIntentBits.Guilds,
  THREAD_CREATE: GatewayIntentBits.Guilds,
  THREAD_UPDATE: GatewayIntentBits.Guilds,
  THREAD_DELETE: GatewayIntentBits.Guilds,
  THREAD_LIST_SYNC: GatewayIntentBits.Guilds,
  THREAD_MEMBER_UPDATE: GatewayIntentBits.Guilds,
  STAGE_INSTANCE_CREATE: GatewayIntentBits.Guilds,
  STAGE_INSTANCE_UPDATE: GatewayIntentBits.Guilds,
  STAGE_INSTANCE_DELETE: GatewayIntentBits.Guilds,
  GUILD_MEMBER_ADD: GatewayIntentBits.GuildMembers,
  GUILD_MEMBER_UPDATE: GatewayIntentBits.GuildMembers,
  GUILD_MEMBER_REMOVE: GatewayIntentBits.GuildMembers,
  THREAD_MEMBERS_UPDATE: GatewayIntentBits.GuildMembers,
  GUILD_BAN_ADD: GatewayIntentBits.GuildModeration,
  GUILD_BAN_REMOVE: GatewayIntentBits.GuildModeration,
  GUILD_EMOJIS_UPDATE: GatewayIntentBits.GuildExpressions,
  GUILD_STICKERS_UPDATE: GatewayIntentBits.GuildExpressions,
  VOICE_STATE_UPDATE: GatewayIntentBits.GuildVoiceStates,
  PRESENCE_UPDATE: GatewayIntentBits.GuildPresences,
  MESSAGE_CREATE: GatewayIntentBits.GuildMessages,
  MESSAGE_UPDATE: GatewayIntentBits.GuildMessages,
  MESSAGE_DELETE: GatewayIntentBits.GuildMessages,
  MESSAGE_DELETE_BULK: GatewayIntentBits.GuildMessages,
  MESSAGE_REACTION_ADD: GatewayIntentBits.GuildMessageReactions,
  MESSAGE_REACTION_REMOVE: GatewayIntentBits.GuildMessageReactions,
  TYPING_START: GatewayIntentBits.GuildMessageTyping,
};

/** Guild-less message events are DMs and fall under the DIRECT_MESSAGES family instead. */
const DM_EVENT_INTENTS: Readonly<Record<string, number>> = {
  MESSAGE_CREATE: GatewayIntentBits.DirectMessages,
  MESSAGE_UPDATE: GatewayIntentBits.DirectMessages,
  MESSAGE_DELETE: GatewayIntentBits.DirectMessages,
  MESSAGE_REACTION_ADD: GatewayIntentBits.DirectMessageReactions,
  MESSAGE_REACTION_REMOVE: GatewayIntentBits.DirectMessageReactions,
  TYPING_START: GatewayIntentBits.DirectMessageTyping,
};

/** Whether a session identified with `intents` receives `event` (for a guild event when `guildId` is set). */
export function intentAllows(intents: number, event: string, guildId: string | null, botUserId: string, data: unknown): boolean {
  const required = guildId === null ? (DM_EVENT_INTENTS[event] ?? EVENT_INTENTS[event]) : EVENT_INTENTS[event];
  if (required === undefined) return true;
  if ((intents & required) !== 0) return true;
  // Discord sends the bot's own GUILD_MEMBER_UPDATE even without GUILD_MEMBERS.
  if (event === 'GUILD_MEMBER_UPDATE') {
    const user = (data as { user?: { id?: unknown } } | null)?.user;
    return user?.id === botUserId;
  }
  return false;
}

/**
 * Without MESSAGE_CONTENT, message payloads lose content, embeds, attachments, components and
 * poll, except the bot's own messages and messages that mention it. Returns `data` itself when
 * nothing changes, a stripped copy otherwise.
 */
export function stripMessageContent(intents: number, event: string, data: unknown, botUserId: string): unknown {
  if ((intents & GatewayIntentBits.MessageContent) !== 0) return data;
  if (event !== 'MESSAGE_CREATE' && event !== 'MESSAGE_UPDATE') return data;
  const message = data as Partial<GatewayMessageCreateDispatchData>;
  if (message.author?.id === botUserId) return data;
  if (message.mentions?.some((user) => user.id === botUserId)) return data;
  if (message.guild_id === undefined) return data;
  const { poll: _poll, ...rest } = message;
  return { ...rest, content: '', embeds: [], attachments: [], components: [] };
}

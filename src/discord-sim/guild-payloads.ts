import { GatewayIntentBits, PresenceUpdateStatus } from 'discord-api-types/v10';
import type {
  APIGuildMember,
  GatewayGuildCreateDispatchData,
  GatewayGuildMembersChunkDispatchData,
  GatewayPresenceUpdate,
  GatewayRequestGuildMembersData,
} from 'discord-api-types/v10';
import type { World, WorldGuild } from './world.ts';

/** Whether a member shows in GUILD_CREATE of a large guild (online, or in voice). */
function visibleWhenLarge(wg: WorldGuild, userId: string): boolean {
  const presence = wg.presences.get(userId);
  return (presence !== undefined && presence.status !== PresenceUpdateStatus.Offline) || wg.voiceStates.has(userId);
}

/**
 * GUILD_CREATE as a session with `intents` sees it: without GUILD_PRESENCES only the bot and
 * voice members are listed; above `largeThreshold` only online or in-voice members are.
 */
export function buildGuildCreate(world: World, guildId: string, intents: number, largeThreshold: number): GatewayGuildCreateDispatchData | undefined {
  const wg = world.guilds.get(guildId);
  const guild = world.guildObject(guildId);
  if (!wg || !guild) return undefined;
  const large = wg.members.size > largeThreshold;
  const withPresences = (intents & GatewayIntentBits.GuildPresences) !== 0;
  const members: APIGuildMember[] = [];
  const presences: GatewayPresenceUpdate[] = [];
  for (const [userId, member] of wg.members) {
    const include = userId === world.botUser.id || wg.voiceStates.has(userId) || (withPresences && (!large || visibleWhenLarge(wg, userId)));
    if (!include) continue;
    members.push(member);
    const presence = wg.presences.get(userId);
    if (presence && (withPresences || userId === world.botUser.id)) presences.push(presence);
  }
  return {
    ...guild,
    joined_at: wg.joinedAt,
    large,
    unavailable: false,
    member_count: wg.members.size,
    voice_states: [...wg.voiceStates.values()],
    members,
    channels: [...wg.channels.values()],
    threads: [...wg.threads.values()],
    presences,
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

const CHUNK_SIZE = 1000;
/** Prefix queries and user_ids lookups return at most 100 members, as on Discord. */
const QUERY_LIMIT = 100;

/**
 * Answers op 8 with GUILD_MEMBERS_CHUNK payloads (at least one chunk, even when empty).
 * Presences are included only when asked for and the session has GUILD_PRESENCES.
 */
export function buildMemberChunks(world: World, request: GatewayRequestGuildMembersData, intents: number): GatewayGuildMembersChunkDispatchData[] {
  const wg = world.guilds.get(request.guild_id);
  if (!wg) return [];
  const matched: APIGuildMember[] = [];
  const notFound: string[] = [];
  if ('user_ids' in request && request.user_ids !== undefined) {
    const ids = Array.isArray(request.user_ids) ? request.user_ids : [request.user_ids];
    for (const id of ids.slice(0, QUERY_LIMIT)) {
      const member = wg.members.get(String(id));
      if (member) matched.push(member);
      else notFound.push(String(id));
    }
  } else {
    const query = typeof (request as { query?: unknown }).query === 'string' ? (request as { query: string }).query.toLowerCase() : '';
    const rawLimit = Number((request as { limit?: unknown }).limit ?? 0);
    const all = query === '' && rawLimit === 0;
    const limit = all ? Number.POSITIVE_INFINITY : Math.min(rawLimit > 0 ? rawLimit : QUERY_LIMIT, QUERY_LIMIT);
    for (const member of wg.members.values()) {
      if (matched.length >= limit) break;
      const name = member.user.username.toLowerCase();
      const nick = member.nick?.toLowerCase() ?? '';
      if (query === '' || name.startsWith(query) || nick.startsWith(query)) matched.push(member);
    }
  }
  const withPresences = request.presences === true && (intents & GatewayIntentBits.GuildPresences) !== 0;
  const nonce = typeof request.nonce === 'string' && Buffer.byteLength(request.nonce) <= 32 ? request.nonce : undefined;
  const chunkCount = Math.max(1, Math.ceil(matched.length / CHUNK_SIZE));
  const chunks: GatewayGuildMembersChunkDispatchData[] = [];
  for (let index = 0; index < chunkCount; index += 1) {
    const members = matched.slice(index * CHUNK_SIZE, (index + 1) * CHUNK_SIZE);
    const chunk: GatewayGuildMembersChunkDispatchData = { guild_id: wg.id, members, chunk_index: index, chunk_count: chunkCount };
    if (index === 0 && notFound.length > 0) chunk.not_found = notFound;
    if (withPresences) chunk.presences = members.map((m) => wg.presences.get(m.user.id)).filter((p) => p !== undefined);
    if (nonce !== undefined) chunk.nonce = nonce;
    chunks.push(chunk);
  }
  return chunks;
}

import type { Context, Hono } from 'hono';
import { ChannelType } from 'discord-api-types/v10';
import type {
  APIGuildMember,
  APIRole,
  GatewayGuildMemberRemoveDispatchData,
  GatewayGuildMemberUpdateDispatchData,
  GatewayMessageDeleteDispatchData,
  GatewayMessageReactionAddDispatchData,
  GatewayMessageReactionRemoveDispatchData,
  GatewayMessageUpdateDispatchData,
  GatewayVoiceStateUpdateDispatchData,
} from 'discord-api-types/v10';
import type { Dispatcher } from './dispatcher.ts';
import { buildMessage } from './traffic-events.ts';
import { makeRole } from './world-entities.ts';
import type { World, WorldGuild } from './world.ts';

export interface RestRouteContext {
  readonly world: World;
  readonly dispatcher: Dispatcher;
}

type Status = 400 | 403 | 404;

/** Discord's JSON error body. */
export function discordError(c: Context, status: 400 | 401 | 403 | 404, message: string, code: number): Response {
  return c.json({ message, code }, status);
}

class RouteError extends Error {
  constructor(
    readonly status: Status,
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

const unknown = {
  channel: () => new RouteError(404, 'Unknown Channel', 10_003),
  guild: () => new RouteError(404, 'Unknown Guild', 10_004),
  member: () => new RouteError(404, 'Unknown Member', 10_007),
  message: () => new RouteError(404, 'Unknown Message', 10_008),
  role: () => new RouteError(404, 'Unknown Role', 10_011),
};
const missingPermissions = () => new RouteError(403, 'Missing Permissions', 50_013);
const invalidBody = (why: string) => new RouteError(400, `Invalid Form Body (${why})`, 50_035);

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new RouteError(400, '400: Bad Request (body is not JSON)', 50_109);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidBody('the body must be a JSON object');
  return body as Record<string, unknown>;
}

function guildOf(ctx: RestRouteContext, c: Context): WorldGuild {
  const guild = ctx.world.guilds.get(c.req.param('guildId') ?? '');
  if (!guild) throw unknown.guild();
  return guild;
}

function memberOf(guild: WorldGuild, c: Context): APIGuildMember & { user: NonNullable<APIGuildMember['user']> } {
  const member = guild.members.get(c.req.param('userId') ?? '');
  if (!member?.user) throw unknown.member();
  return member as APIGuildMember & { user: NonNullable<APIGuildMember['user']> };
}

function roleOf(guild: WorldGuild, c: Context): APIRole {
  const role = guild.roles.get(c.req.param('roleId') ?? '');
  if (!role) throw unknown.role();
  return role;
}

function channelOf(ctx: RestRouteContext, c: Context): NonNullable<ReturnType<World['findChannel']>> {
  const found = ctx.world.findChannel(c.req.param('channelId') ?? '');
  if (!found) throw unknown.channel();
  return found;
}

function messageOf(ctx: RestRouteContext, c: Context) {
  const found = channelOf(ctx, c);
  const stored = ctx.world.messages.get(found.channel.id, c.req.param('messageId') ?? '');
  if (!stored) throw unknown.message();
  return { ...found, stored };
}

function content(body: Record<string, unknown>, required: boolean): string | undefined {
  if (body['content'] === undefined && !required) return undefined;
  const text = body['content'];
  if (typeof text !== 'string' || text.length === 0) throw new RouteError(400, 'Cannot send an empty message', 50_006);
  if (text.length > 2000) throw invalidBody('content longer than 2000');
  return text;
}

/** The emoji of a reaction route: `name` for a unicode emoji, `name:id` for a custom one. */
function emojiOf(c: Context): { key: string; emoji: { id: string | null; name: string } } {
  const raw = decodeURIComponent(c.req.param('emoji') ?? '');
  const custom = /^(?:a:)?([\w-]{1,32}):(\d{1,20})$/.exec(raw);
  if (custom) return { key: raw, emoji: { id: custom[2]!, name: custom[1]! } };
  if (raw.length === 0 || raw.length > 32) throw new RouteError(400, 'Unknown Emoji', 10_014);
  return { key: raw, emoji: { id: null, name: raw } };
}

function memberUpdate(ctx: RestRouteContext, guild: WorldGuild, member: APIGuildMember): void {
  const data = { ...member, guild_id: guild.id } as GatewayGuildMemberUpdateDispatchData;
  ctx.dispatcher.dispatchToGuild(guild.id, 'GUILD_MEMBER_UPDATE', data);
}

type Handler = (c: Context, ctx: RestRouteContext) => Response | Promise<Response>;

/** The REST routes that act on the world, by `METHOD path` as in ROUTE_LIMITS. */
export const ROUTE_HANDLERS: Readonly<Record<string, Handler>> = {
  async 'POST /channels/:channelId/messages'(c, ctx) {
    const { guild } = channelOf(ctx, c);
    const text = content(await jsonBody(c), true)!;
    const botMember = guild.members.get(ctx.world.botUser.id)!;
    const message = buildMessage(ctx.world, guild as WorldGuild, c.req.param('channelId')!, botMember, text);
    ctx.dispatcher.dispatchToGuild(guild.id, 'MESSAGE_CREATE', message);
    const { member: _member, guild_id: _guildId, ...restMessage } = message;
    return c.json(restMessage);
  },
  async 'PATCH /channels/:channelId/messages/:messageId'(c, ctx) {
    const { guild, stored } = messageOf(ctx, c);
    const message = stored.message;
    if (message.author.id !== ctx.world.botUser.id) throw new RouteError(403, 'Cannot edit a message authored by another user', 50_005);
    const text = content(await jsonBody(c), false);
    if (text !== undefined) message.content = text;
    message.edited_timestamp = ctx.world.minter.nowIso();
    const data: GatewayMessageUpdateDispatchData = { ...message, guild_id: guild.id };
    ctx.dispatcher.dispatchToGuild(guild.id, 'MESSAGE_UPDATE', data);
    const { member: _member, guild_id: _guildId, ...restMessage } = message;
    return c.json(restMessage);
  },
  'DELETE /channels/:channelId/messages/:messageId'(c, ctx) {
    const { guild, stored } = messageOf(ctx, c);
    ctx.world.messages.delete(stored.message.id);
    const data: GatewayMessageDeleteDispatchData = { id: stored.message.id, channel_id: stored.message.channel_id, guild_id: guild.id };
    ctx.dispatcher.dispatchToGuild(guild.id, 'MESSAGE_DELETE', data);
    return c.body(null, 204);
  },
  'PUT /channels/:channelId/messages/:messageId/reactions/:emoji/@me'(c, ctx) {
    const { guild, stored } = messageOf(ctx, c);
    const { key, emoji } = emojiOf(c);
    const botId = ctx.world.botUser.id;
    const users = stored.reactions.get(key) ?? new Set<string>();
    stored.reactions.set(key, users);
    if (!users.has(botId)) {
      users.add(botId);
      const data: GatewayMessageReactionAddDispatchData = {
        user_id: botId,
        channel_id: stored.message.channel_id,
        message_id: stored.message.id,
        guild_id: guild.id,
        member: guild.members.get(botId)!,
        emoji,
        message_author_id: stored.message.author.id,
        burst: false,
        type: 0,
      } as GatewayMessageReactionAddDispatchData;
      ctx.dispatcher.dispatchToGuild(guild.id, 'MESSAGE_REACTION_ADD', data);
    }
    return c.body(null, 204);
  },
  'DELETE /channels/:channelId/messages/:messageId/reactions/:emoji/@me'(c, ctx) {
    const { guild, stored } = messageOf(ctx, c);
    const { key, emoji } = emojiOf(c);
    const botId = ctx.world.botUser.id;
    if (stored.reactions.get(key)?.delete(botId)) {
      const data: GatewayMessageReactionRemoveDispatchData = {
        user_id: botId,
        channel_id: stored.message.channel_id,
        message_id: stored.message.id,
        guild_id: guild.id,
        emoji,
        burst: false,
        type: 0,
      } as GatewayMessageReactionRemoveDispatchData;
      ctx.dispatcher.dispatchToGuild(guild.id, 'MESSAGE_REACTION_REMOVE', data);
    }
    return c.body(null, 204);
  },
  'GET /channels/:channelId'(c, ctx) {
    return c.json(channelOf(ctx, c).channel);
  },
  async 'PATCH /channels/:channelId'(c, ctx) {
    const { guild, channel } = channelOf(ctx, c);
    const body = await jsonBody(c);
    const name = body['name'];
    if (name !== undefined && (typeof name !== 'string' || name.length < 1 || name.length > 100)) throw invalidBody('name must be 1 to 100 characters');
    const topic = body['topic'];
    if (topic !== undefined && topic !== null && (typeof topic !== 'string' || topic.length > 1024)) throw invalidBody('topic must be at most 1024 characters');
    if (typeof name === 'string') channel.name = name;
    if (topic !== undefined && channel.type === ChannelType.GuildText) channel.topic = topic as string | null;
    ctx.dispatcher.dispatchToGuild(guild.id, 'CHANNEL_UPDATE', channel);
    return c.json(channel);
  },
  'GET /guilds/:guildId/channels'(c, ctx) {
    return c.json([...guildOf(ctx, c).channels.values()]);
  },
  async 'PATCH /guilds/:guildId/members/:userId'(c, ctx) {
    const guild = guildOf(ctx, c);
    const member = memberOf(guild, c);
    const body = await jsonBody(c);
    const nick = body['nick'];
    if (nick !== undefined && nick !== null && (typeof nick !== 'string' || nick.length > 32)) throw invalidBody('nick must be at most 32 characters');
    const roles = body['roles'];
    if (roles !== undefined && (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string' && guild.roles.has(r) && r !== guild.id))) throw invalidBody('roles must be ids of roles of this guild');
    // Nobody, a bot included, may change the owner's nickname.
    if (nick !== undefined && member.user.id === guild.guild.owner_id) throw missingPermissions();
    if (nick !== undefined) member.nick = nick as string | null;
    if (roles !== undefined) member.roles = [...new Set(roles as string[])];
    memberUpdate(ctx, guild, member);
    return c.json(member);
  },
  'DELETE /guilds/:guildId/members/:userId'(c, ctx) {
    const guild = guildOf(ctx, c);
    const member = memberOf(guild, c);
    if (member.user.id === guild.guild.owner_id || member.user.id === ctx.world.botUser.id) throw missingPermissions();
    const voice = guild.voiceStates.get(member.user.id);
    if (voice) {
      guild.voiceStates.delete(member.user.id);
      const left: GatewayVoiceStateUpdateDispatchData = { ...voice, channel_id: null, guild_id: guild.id };
      ctx.dispatcher.dispatchToGuild(guild.id, 'VOICE_STATE_UPDATE', left);
    }
    guild.members.delete(member.user.id);
    guild.presences.delete(member.user.id);
    const data: GatewayGuildMemberRemoveDispatchData = { guild_id: guild.id, user: member.user };
    ctx.dispatcher.dispatchToGuild(guild.id, 'GUILD_MEMBER_REMOVE', data);
    return c.body(null, 204);
  },
  'PUT /guilds/:guildId/members/:userId/roles/:roleId'(c, ctx) {
    const guild = guildOf(ctx, c);
    const member = memberOf(guild, c);
    const role = roleOf(guild, c);
    if (role.id === guild.id) throw invalidBody('the @everyone role cannot be added');
    if (!member.roles.includes(role.id)) {
      member.roles = [...member.roles, role.id];
      memberUpdate(ctx, guild, member);
    }
    return c.body(null, 204);
  },
  'DELETE /guilds/:guildId/members/:userId/roles/:roleId'(c, ctx) {
    const guild = guildOf(ctx, c);
    const member = memberOf(guild, c);
    const role = roleOf(guild, c);
    if (member.roles.includes(role.id)) {
      member.roles = member.roles.filter((r) => r !== role.id);
      memberUpdate(ctx, guild, member);
    }
    return c.body(null, 204);
  },
  async 'POST /guilds/:guildId/roles'(c, ctx) {
    const guild = guildOf(ctx, c);
    const body = await jsonBody(c);
    if (guild.roles.size >= 250) throw new RouteError(400, 'Maximum number of guild roles reached (250)', 30_005);
    const role = makeRole(ctx.world.minter.mint(), 'new role', guild.roles.size, 0);
    applyRoleEdit(role, body);
    guild.roles.set(role.id, role);
    ctx.dispatcher.dispatchToGuild(guild.id, 'GUILD_ROLE_CREATE', { guild_id: guild.id, role });
    return c.json(role);
  },
  async 'PATCH /guilds/:guildId/roles/:roleId'(c, ctx) {
    const guild = guildOf(ctx, c);
    const role = roleOf(guild, c);
    applyRoleEdit(role, await jsonBody(c));
    ctx.dispatcher.dispatchToGuild(guild.id, 'GUILD_ROLE_UPDATE', { guild_id: guild.id, role });
    return c.json(role);
  },

};

function applyRoleEdit(role: APIRole, body: Record<string, unknown>): void {
  const { name, color, hoist, mentionable } = body;
  if (name !== undefined && (typeof name !== 'string' || name.length > 100)) throw invalidBody('name must be at most 100 characters');
  if (color !== undefined && (typeof color !== 'number' || !Number.isInteger(color) || color < 0 || color > 0xffffff)) throw invalidBody('color must be an RGB integer');
  if (typeof name === 'string') role.name = name;
  if (typeof color === 'number') {
    role.color = color;
    role.colors = { primary_color: color, secondary_color: null, tertiary_color: null };
  }
  if (typeof hoist === 'boolean') role.hoist = hoist;
  if (typeof mentionable === 'boolean') role.mentionable = mentionable;
}

/** Registers the world-changing routes on the /api/vN app; a RouteError becomes Discord's error body. */
export function registerRestRoutes(api: Hono, ctx: RestRouteContext): void {
  for (const [key, handler] of Object.entries(ROUTE_HANDLERS)) {
    const [method, path] = key.split(' ') as [string, string];
    api.on(method, path, async (c) => {
      try {
        return await handler(c, ctx);
      } catch (error) {
        if (error instanceof RouteError) return discordError(c, error.status, error.message, error.code);
        throw error;
      }
    });
  }
}

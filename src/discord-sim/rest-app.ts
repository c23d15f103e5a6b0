import { Hono } from 'hono';
import type { Context } from 'hono';
import type { APIGatewayBotInfo, APIGatewayInfo, RESTPostAPIChannelMessageJSONBody } from 'discord-api-types/v10';
import type { Dispatcher } from './dispatcher.ts';
import type { IdentifyLimiter } from './identify-limiter.ts';
import { buildMessage } from './traffic-events.ts';
import { isInteractionCallback, registerInteractionRoutes, type InteractionStats } from './rest-interactions.ts';
import type { World } from './world.ts';

export interface RestContext {
  readonly token: string;
  recommendedShards(): number;
  readonly world: World;
  readonly dispatcher: Dispatcher;
  readonly identifyLimiter: IdentifyLimiter;
  readonly stats: InteractionStats;
  gatewayUrl(): string;
}

/** Discord's JSON error body. */
function discordError(c: Context, status: 400 | 401 | 404, message: string, code: number): Response {
  return c.json({ message, code }, status);
}

function authorized(c: Context, token: string): boolean {
  return c.req.header('authorization') === `Bot ${token}`;
}

/** The routes under /api/v9 and /api/v10. Every answer is JSON, errors included. */
function buildApi(ctx: RestContext): Hono {
  const api = new Hono();
  api.use('*', async (c, next) => {
    const open = (c.req.method === 'GET' && /\/gateway\/?$/.test(c.req.path)) || isInteractionCallback(c.req.path);
    if (!open && !authorized(c, ctx.token)) return discordError(c, 401, '401: Unauthorized', 0);
    await next();
  });
  api.get('/gateway', (c) => c.json({ url: ctx.gatewayUrl() } satisfies APIGatewayInfo));
  api.get('/gateway/bot', (c) => {
    const body: APIGatewayBotInfo = { url: ctx.gatewayUrl(), shards: ctx.recommendedShards(), session_start_limit: ctx.identifyLimiter.snapshot() };
    return c.json(body);
  });
  api.get('/users/@me', (c) => c.json(ctx.world.botUser));
  api.get('/applications/@me', (c) => c.json({ ...ctx.world.application, bot: ctx.world.botUser }));
  api.post('/channels/:id/messages', async (c) => {
    const found = ctx.world.findChannel(c.req.param('id'));
    if (!found) return discordError(c, 404, 'Unknown Channel', 10003);
    let body: Partial<RESTPostAPIChannelMessageJSONBody>;
    try {
      body = (await c.req.json()) as Partial<RESTPostAPIChannelMessageJSONBody>;
    } catch {
      return discordError(c, 400, '400: Bad Request (body is not JSON)', 50109);
    }
    if (typeof body !== 'object' || body === null || typeof body.content !== 'string' || body.content.length === 0) {
      return discordError(c, 400, 'Cannot send an empty message', 50006);
    }
    if (body.content.length > 2000) return discordError(c, 400, 'Invalid Form Body (content longer than 2000)', 50035);
    const guild = ctx.world.guilds.get(found.guild.id)!;
    const botMember = guild.members.get(ctx.world.botUser.id)!;
    const message = buildMessage(ctx.world, guild, found.channel.id, botMember, body.content);
    ctx.dispatcher.dispatchToGuild(guild.id, 'MESSAGE_CREATE', message);
    const { member: _member, guild_id: _guildId, ...restMessage } = message;
    return c.json(restMessage);
  });
  registerInteractionRoutes(api, ctx.world, ctx.stats);
  api.all('*', (c) => discordError(c, 404, '404: Not Found', 0));
  return api;
}

export function buildRestApp(ctx: RestContext, control: Hono): Hono {
  const app = new Hono();
  const api = buildApi(ctx);
  app.route('/api/v10', api);
  app.route('/api/v9', api);
  app.route('/_sim', control);
  app.notFound((c) => discordError(c, 404, '404: Not Found', 0));
  app.onError((error, c) => c.json({ message: `500: ${error.message}`, code: 0 }, 500));
  return app;
}

import { Hono } from 'hono';
import type { Context } from 'hono';
import type { APIGatewayBotInfo, APIGatewayInfo } from 'discord-api-types/v10';
import type { Dispatcher } from './dispatcher.ts';
import type { IdentifyLimiter } from './identify-limiter.ts';
import type { RestGate } from './rest-gate.ts';
import { ROUTE_LIMITS } from './rest-route-limits.ts';
import { registerRestRoutes } from './rest-routes.ts';
import { registerInteractionRoutes, type InteractionStats } from './rest-interactions.ts';
import type { World } from './world.ts';
import { allowedMethods } from '../openapi/allowed-methods.ts';
import { describeRoute } from '../openapi/route-doc.ts';
import type { OpenApiDocument } from '../openapi/openapi-document.ts';
import { SIM_ROUTE_DOCS, simControlDocument } from './sim-control-docs.ts';

export interface RestContext {
  readonly token: string;
  recommendedShards(): number;
  readonly world: World;
  readonly dispatcher: Dispatcher;
  readonly identifyLimiter: IdentifyLimiter;
  /** Authentication, rate limits and their headers, the ban, and the counts (rest-gate.ts). */
  readonly gate: RestGate;
  readonly stats: InteractionStats;
  gatewayUrl(): string;
}

/** Discord's JSON error body. */
function discordError(c: Context, status: 404, message: string, code: number): Response {
  return c.json({ message, code }, status);
}

/** The routes under /api/v9 and /api/v10. Every answer is JSON, errors included. */
function buildApi(ctx: RestContext): Hono {
  const api = new Hono();
  api.use('*', ctx.gate.entry());
  ctx.gate.install(api, ROUTE_LIMITS);
  api.get('/gateway', (c) => c.json({ url: ctx.gatewayUrl() } satisfies APIGatewayInfo));
  api.get('/gateway/bot', (c) => {
    const body: APIGatewayBotInfo = { url: ctx.gatewayUrl(), shards: ctx.recommendedShards(), session_start_limit: ctx.identifyLimiter.snapshot() };
    return c.json(body);
  });
  api.get('/users/@me', (c) => c.json(ctx.world.botUser));
  api.get('/applications/@me', (c) => c.json({ ...ctx.world.application, bot: ctx.world.botUser }));
  // Before the other routes: the callback acts on the interaction the world sent (40060 on a second answer).
  registerInteractionRoutes(api, ctx.world, ctx.stats);
  registerRestRoutes(api, ctx);
  api.all('*', (c) => discordError(c, 404, '404: Not Found', 0));
  return api;
}

export function buildRestApp(ctx: RestContext, control: Hono): Hono {
  const app = new Hono();
  const api = buildApi(ctx);
  app.route('/api/v10', api);
  app.route('/api/v9', api);
  app.route('/_sim', control);
  // Read off this app's route table on first request, so it lists exactly the /_sim routes served.
  let document: OpenApiDocument | undefined;
  app.get('/_sim/openapi.json', describeRoute(SIM_ROUTE_DOCS.openapi), (c) => c.json((document ??= simControlDocument(app))));
  app.notFound((c) => {
    if (!c.req.path.startsWith('/_sim/')) return discordError(c, 404, '404: Not Found', 0);
    // The control plane answers in its own error shape; a known path asked with another method is a 405 naming the methods it has.
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      c.header('Allow', allowed.join(', '));
      return c.json({ error: { code: 'METHOD_NOT_ALLOWED', message: `${c.req.path} answers ${allowed.join(', ')}, not ${c.req.method}` } }, 405);
    }
    return c.json({ error: { code: 'NOT_FOUND', message: `No route for ${c.req.method} ${c.req.path}` } }, 404);
  });
  app.onError((error, c) => c.json({ message: `500: ${error.message}`, code: 0 }, 500));
  return app;
}

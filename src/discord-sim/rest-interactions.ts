import type { Context, Hono } from 'hono';
import type { World } from './world.ts';

/** Counts the interaction callback route keeps (SimStats). */
export interface InteractionStats {
  interactionResponses: number;
  /** Second (or later) responses to one interaction, refused with 40060: a bot that handled it twice. */
  interactionsAnsweredTwice: number;
}

const CALLBACK_TYPES: ReadonlySet<number> = new Set([1, 4, 5, 6, 7, 8, 9, 10, 12]);
const CALLBACK_PATH = /\/interactions\/\d{1,20}\/[^/]{1,200}\/callback$/;

/** The callback route needs no bot token (the interaction's own token authorizes it), as on Discord. */
export function isInteractionCallback(path: string): boolean {
  return CALLBACK_PATH.test(path);
}

/**
 * POST /interactions/:id/:token/callback: the first response is accepted (204); any later one
 * gets Discord's 400 with code 40060, so a bot that handles one interaction twice shows up in
 * the stats and in its own REST errors.
 */
export function registerInteractionRoutes(api: Hono, world: World, stats: InteractionStats): void {
  api.post('/interactions/:id/:token/callback', async (c: Context) => {
    const interaction = world.interactions.get(c.req.param('id') ?? '');
    if (!interaction || interaction.token !== c.req.param('token')) return c.json({ message: 'Unknown interaction', code: 10062 }, 404);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ message: '400: Bad Request (body is not JSON)', code: 50109 }, 400);
    }
    // Discord's callback types: pong, message, deferred message, deferred update, update, autocomplete, modal, premium, launch.
    const type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
    if (!CALLBACK_TYPES.has(type as number)) {
      return c.json({ message: 'Invalid Form Body (type must be an interaction callback type)', code: 50035 }, 400);
    }
    if (interaction.responses > 0) {
      interaction.refused += 1;
      stats.interactionsAnsweredTwice += 1;
      return c.json({ message: 'Interaction has already been acknowledged.', code: 40060 }, 400);
    }
    interaction.responses = 1;
    stats.interactionResponses += 1;
    return c.body(null, 204);
  });
}

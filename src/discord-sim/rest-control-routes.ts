import { Hono } from 'hono';
import type { RestLimits } from './rest-limits.ts';
import type { RestStats } from './rest-stats.ts';
import { describeRoute } from '../openapi/route-doc.ts';
import { SIM_ROUTE_DOCS as DOCS } from './sim-control-docs.ts';

/** `/_sim/rest/*`: REST's counts, and lifting bans between the phases of a test. */
export function buildRestControlRoutes(limits: RestLimits, stats: RestStats): Hono {
  const app = new Hono();
  app.get('/stats', describeRoute(DOCS.restStats), (c) => c.json(stats.snapshot()));
  app.post('/forgive', describeRoute(DOCS.restForgive), (c) => {
    limits.forgive();
    return c.json({ ok: true });
  });
  return app;
}

import { Hono } from 'hono';
import type { RestLimits } from './rest-limits.ts';
import type { RestStats } from './rest-stats.ts';

/** `/_sim/rest/*`: REST's counts, and lifting bans between the phases of a test. */
export function buildRestControlRoutes(limits: RestLimits, stats: RestStats): Hono {
  const app = new Hono();
  app.get('/stats', (c) => c.json(stats.snapshot()));
  app.post('/forgive', (c) => {
    limits.forgive();
    return c.json({ ok: true });
  });
  return app;
}

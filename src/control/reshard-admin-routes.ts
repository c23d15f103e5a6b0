import { Hono, type MiddlewareHandler } from 'hono';
import type { ReshardStarted } from '../cluster/resharder.ts';
import { reshardBody, type ReshardBody } from '../cluster/reshard-protocol.ts';
import type { ReshardView } from '../cluster/reshard-view.ts';
import { describeRoute } from '../openapi/route-doc.ts';
import { ROUTE_DOCS } from './admin-route-docs.ts';
import { parseBody } from './parse-body.ts';

/** What POST and GET /reshard ask of the node (a replica forwards a start to the primary). */
export interface ReshardOperations {
  start(body: ReshardBody): Promise<ReshardStarted>;
  view(): ReshardView | null;
}

/**
 * POST /reshard `{ "shardCount": 8 }` or `{ "shardCount": "auto" }`: starts a live reshard and
 * answers 202 at once (it runs for a while; GET /reshard, /status and the dashboard follow it).
 * A refusal (another reshard runs, an invalid count, an identify budget too small) changes nothing.
 */
export function createReshardAdminRoutes(ops: ReshardOperations, admin: MiddlewareHandler): Hono {
  const app = new Hono();
  app.post('/reshard', admin, describeRoute(ROUTE_DOCS.reshardStart), async (c) => {
    const started = await ops.start(await parseBody(c, reshardBody));
    return c.json({ reshard: started }, 202);
  });
  app.get('/reshard', admin, describeRoute(ROUTE_DOCS.reshardView), (c) => c.json({ reshard: ops.view() }));
  return app;
}

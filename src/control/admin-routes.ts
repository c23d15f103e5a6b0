import { Hono, type MiddlewareHandler } from 'hono';
import { ShardlineError } from '../core/errors.ts';
import { parseResumeInfo } from '../core/resume-info.ts';
import { describeRoute } from '../openapi/route-doc.ts';
import { ROUTE_DOCS } from './admin-route-docs.ts';
import { drainBody, emptyBody, moveBody, resumeBody, takeoverBody, type ControlOperations } from './control-operations.ts';
import { createControlMetrics } from './metrics.ts';
import { nodeIdParam, parseBody, parseOptionalBody, shardIdParam } from './parse-body.ts';
import { createReshardAdminRoutes } from './reshard-admin-routes.ts';

/**
 * The operator's routes: takeover, handoff/resume by hand, move, drain, metrics. Each route
 * carries the admin guard itself so unknown paths stay plain 404s. Validation happens before
 * anything is asked of the node, so a rejected request changes nothing.
 */
export function createAdminRoutes(ops: ControlOperations, admin: MiddlewareHandler): Hono {
  const app = new Hono();
  const metrics = createControlMetrics();

  const shardParam = (text: string): number => {
    const shardId = shardIdParam(text);
    const count = ops.shardCount();
    if (shardId >= count) throw new ShardlineError('INVALID_INPUT', `No shard ${shardId}: this bot runs ${count} shard${count === 1 ? '' : 's'} (ids 0 to ${count - 1})`);
    return shardId;
  };

  app.post('/takeover', admin, describeRoute(ROUTE_DOCS.takeover), async (c) => {
    const body = await parseOptionalBody(c, takeoverBody);
    return c.json(await ops.takeover({ timeoutMs: body.timeoutMs }));
  });

  app.post('/shards/:id/handoff', admin, describeRoute(ROUTE_DOCS.handoff), async (c) => {
    const shardId = shardParam(c.req.param('id'));
    await parseOptionalBody(c, emptyBody);
    return c.json(await ops.handoff(shardId));
  });

  app.post('/shards/:id/resume', admin, describeRoute(ROUTE_DOCS.resume), async (c) => {
    const shardId = shardParam(c.req.param('id'));
    const info = parseResumeInfo(await parseBody(c, resumeBody));
    const count = ops.shardCount();
    if (info.shardCount !== count) {
      throw new ShardlineError('CONFLICT', `Cannot resume shard ${shardId}: the resume info is for ${info.shardCount} shards, this bot runs ${count}`);
    }
    if (info.shardId !== shardId) {
      throw new ShardlineError('CONFLICT', `Cannot resume shard ${shardId}: the resume info belongs to shard ${info.shardId}`);
    }
    return c.json(await ops.resume(shardId, info));
  });

  app.post('/shards/:id/move', admin, describeRoute(ROUTE_DOCS.move), async (c) => {
    const shardId = shardParam(c.req.param('id'));
    const body = await parseBody(c, moveBody);
    return c.json(await ops.move(shardId, body.to));
  });

  app.post('/nodes/:id/drain', admin, describeRoute(ROUTE_DOCS.drain), async (c) => {
    const nodeId = nodeIdParam(c.req.param('id'));
    const body = await parseOptionalBody(c, drainBody);
    const report = await ops.drain(nodeId, true, { waitMs: body.waitMs });
    // 202: the flag is set and shards are still leaving; poll GET /status or call again.
    return c.json(report, report.done ? 200 : 202);
  });

  app.post('/nodes/:id/undrain', admin, describeRoute(ROUTE_DOCS.undrain), async (c) => {
    const nodeId = nodeIdParam(c.req.param('id'));
    await parseOptionalBody(c, emptyBody);
    return c.json(await ops.drain(nodeId, false, { waitMs: 0 }));
  });

  if (ops.reshard) app.route('/', createReshardAdminRoutes(ops.reshard, admin));

  app.get('/metrics', admin, describeRoute(ROUTE_DOCS.metrics), async (c) => {
    const text = await metrics.render(ops.metrics());
    return c.body(text, 200, { 'content-type': metrics.contentType });
  });
  return app;
}

import { Hono } from 'hono';
import type { ReshardStarted } from '../cluster/resharder.ts';
import { prepareRequest, reshardBody, retireRequest, takeOverRequest, type NodeRetireResult, type PrepareRequest, type ReshardBody, type RetireRequest, type TakeOverRequest } from '../cluster/reshard-protocol.ts';
import { describeRoute } from '../openapi/route-doc.ts';
import { INTERNAL_ROUTE_DOCS as DOCS } from './internal-route-docs.ts';
import { parseBody } from './parse-body.ts';

/** What a node does for the primary's Resharder, and (on the primary) a reshard another node was asked for. */
export interface ReshardNodeOps {
  prepare(request: PrepareRequest): void;
  retire(request: RetireRequest): Promise<NodeRetireResult>;
  takeOver(request: TakeOverRequest): Promise<void>;
  /** POST /reshard forwarded by a replica; throws NOT_PRIMARY elsewhere. */
  start(request: ReshardBody): Promise<ReshardStarted>;
}

/** /internal/reshard/*: mounted inside the internal routes, so the cluster secret guards them. */
export function createReshardInternalRoutes(ops: ReshardNodeOps): Hono {
  const app = new Hono();
  app.post('/prepare', describeRoute(DOCS.reshardPrepare), async (c) => {
    ops.prepare(await parseBody(c, prepareRequest));
    return c.json({ ok: true });
  });
  app.post('/retire', describeRoute(DOCS.reshardRetire), async (c) => c.json(await ops.retire(await parseBody(c, retireRequest))));
  app.post('/take-over', describeRoute(DOCS.reshardTakeOver), async (c) => {
    await ops.takeOver(await parseBody(c, takeOverRequest));
    return c.json({ ok: true });
  });
  app.post('/start', describeRoute(DOCS.reshardStart), async (c) => c.json(await ops.start(await parseBody(c, reshardBody))));
  return app;
}

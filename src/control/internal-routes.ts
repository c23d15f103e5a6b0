import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ShardlineError } from '../core/errors.ts';
import type { IdentifyDecision } from '../core/identify-budget.ts';
import { parseWriteEntry, type WriteEntry } from '../core/mutation.ts';
import { parseResumeInfo, type ResumeInfo } from '../core/resume-info.ts';
import {
  detachRequest,
  heartbeatRequest,
  identifyRequest,
  startRequest,
  writesRequest,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type IdentifyRequest,
} from '../cluster/cluster-protocol.ts';
import type { ForwardResult } from '../cluster/forwarding-writer.ts';
import { claimRequest, emptyBody, forwardedDrainRequest, forwardedMoveRequest, holdWritesRequest, peerTakeoverRequest, releaseRequest, type PrimaryOperations } from './control-operations.ts';
import { leaseRequest, type LeaseGrant, type LeaseRequest } from '../cluster/rest-budget-protocol.ts';
import { nodeIdParam, parseBody, parseOptionalBody, shardIdParam } from './parse-body.ts';
import { createReshardInternalRoutes, type ReshardNodeOps } from './reshard-internal-routes.ts';
import { describeRoute } from '../openapi/route-doc.ts';
import { INTERNAL_ROUTE_DOCS as DOCS } from './internal-route-docs.ts';
import { requireBearer } from './secret-auth.ts';

/** What the internal routes need from the node. Primary-only calls throw NOT_PRIMARY elsewhere. */
export interface InternalDeps {
  readonly clusterSecret: string | null;
  heartbeat(request: HeartbeatRequest): HeartbeatResponse;
  /** `batched`: acknowledge with the funnel's next scheduled commit instead of committing at once. */
  acceptWrites(nodeId: string, entries: WriteEntry[], options: { batched: boolean }): Promise<ForwardResult>;
  identify(request: IdentifyRequest): Promise<IdentifyDecision>;
  detach(shardId: number, epoch: number): Promise<ResumeInfo>;
  start(shardId: number, epoch: number, resume: ResumeInfo | null, set?: { generation: number; shardCount: number }): void;
  /** The primary's REST budget: a node's share of the token's global limit (rest-budget-protocol.ts). */
  restLease?(request: LeaseRequest): LeaseGrant;
  /** Handoff, resume, move and drain asked by another node; absent: those routes are not served. */
  readonly operations?: PrimaryOperations;
  /** The Resharder's commands to this node (and reshards forwarded to the primary); absent: not served. */
  readonly reshard?: ReshardNodeOps;
}

/** Forwarded batches can be large (a GUILD_CREATE with thousands of members). */
export const MAX_INTERNAL_BODY_BYTES = 64 * 1024 * 1024;

/** The node-to-node API under /internal, guarded by the cluster secret only. */
export function createInternalRoutes(deps: InternalDeps): Hono {
  const app = new Hono();
  app.use('*', requireBearer(deps.clusterSecret, 'internal'));
  app.use('*', bodyLimit({
    maxSize: MAX_INTERNAL_BODY_BYTES,
    onError: () => {
      throw new ShardlineError('TOO_LARGE', `Internal request body exceeds ${MAX_INTERNAL_BODY_BYTES} bytes`);
    },
  }));
  app.post('/heartbeat', describeRoute(DOCS.heartbeat), async (c) => c.json(deps.heartbeat(await parseBody(c, heartbeatRequest))));
  app.post('/identify', describeRoute(DOCS.identify), async (c) => c.json(await deps.identify(await parseBody(c, identifyRequest))));
  app.post('/writes', describeRoute(DOCS.writes), async (c) => {
    // ?wait=batch: a routine send, acknowledged with the next scheduled commit. Without it (a
    // sender that must know now, or an older one), the primary commits at once.
    const wait = c.req.query('wait');
    if (wait !== undefined && wait !== 'batch') throw new ShardlineError('INVALID_INPUT', `Query parameter wait must be "batch" or absent, got ${JSON.stringify(wait.slice(0, 40))}`);
    const body = await parseBody(c, writesRequest);
    // Validate everything before writing anything: a bad batch is refused whole.
    const entries = body.entries.map((entry, i) => {
      try {
        return parseWriteEntry(entry);
      } catch (error) {
        throw new ShardlineError('INVALID_INPUT', `entries[${i}]: ${(error as Error).message}`);
      }
    });
    return c.json(await deps.acceptWrites(body.nodeId, entries, { batched: wait === 'batch' }));
  });
  app.post('/shards/:id/detach', describeRoute(DOCS.detach), async (c) => {
    const body = await parseBody(c, detachRequest);
    return c.json(await deps.detach(shardIdParam(c.req.param('id')), body.epoch));
  });
  app.post('/shards/:id/start', describeRoute(DOCS.start), async (c) => {
    const body = await parseBody(c, startRequest);
    deps.start(shardIdParam(c.req.param('id')), body.epoch, body.resume === undefined ? null : parseResumeInfo(body.resume), body.set);
    return c.json({ ok: true });
  });
  const restLease = deps.restLease?.bind(deps);
  if (restLease) app.post('/rest/lease', describeRoute(DOCS.restLease), async (c) => c.json(restLease(await parseBody(c, leaseRequest))));
  if (deps.reshard) app.route('/reshard', createReshardInternalRoutes(deps.reshard));
  const ops = deps.operations;
  if (ops) {
    app.post('/shards/:id/release', describeRoute(DOCS.release), async (c) => {
      const shardId = shardIdParam(c.req.param('id'));
      const body = await parseBody(c, releaseRequest);
      return c.json(await ops.releaseShard({ shardId, nodeId: body.nodeId, epoch: body.epoch }));
    });
    app.post('/shards/:id/claim', describeRoute(DOCS.claim), async (c) => {
      const shardId = shardIdParam(c.req.param('id'));
      const body = await parseBody(c, claimRequest);
      return c.json(await ops.claimShard({ shardId, nodeId: body.nodeId, resume: parseResumeInfo(body.resume) }));
    });
    app.post('/shards/:id/move', describeRoute(DOCS.move), async (c) => {
      const shardId = shardIdParam(c.req.param('id'));
      const body = await parseBody(c, forwardedMoveRequest);
      return c.json(await ops.move(shardId, body.to, { forwarded: true }));
    });
    app.post('/shards/:id/stats', describeRoute(DOCS.stats), async (c) => {
      const shardId = shardIdParam(c.req.param('id'));
      await parseOptionalBody(c, emptyBody);
      const stats = ops.shardStats(shardId);
      if (!stats) throw new ShardlineError('NOT_FOUND', `Shard ${shardId} does not run on this node`);
      // The fields the caller reads, not whatever else the runner's stats hold.
      return c.json({ status: stats.status, readySince: stats.readySince, seq: stats.seq });
    });
    app.post('/nodes/:id/drain', describeRoute(DOCS.drain), async (c) => {
      const nodeId = nodeIdParam(c.req.param('id'));
      const body = await parseBody(c, forwardedDrainRequest);
      await ops.setDraining(nodeId, body.draining);
      return c.json({ ok: true });
    });
    const takeoverForPeer = ops.takeoverForPeer?.bind(ops);
    if (takeoverForPeer) {
      app.post('/takeover', describeRoute(DOCS.takeover), async (c) => c.json(await takeoverForPeer(await parseBody(c, peerTakeoverRequest))));
    }
    const holdWrites = ops.holdWrites?.bind(ops);
    if (holdWrites) {
      app.post('/primary/hold-writes', describeRoute(DOCS.holdWrites), async (c) => c.json(await holdWrites((await parseBody(c, holdWritesRequest)).holdMs)));
    }
  }
  return app;
}

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
import { parseBody } from './create-control-app.ts';
import { requireBearer } from './secret-auth.ts';

/** What the internal routes need from the node. Primary-only calls throw NOT_PRIMARY elsewhere. */
export interface InternalDeps {
  readonly clusterSecret: string | null;
  heartbeat(request: HeartbeatRequest): HeartbeatResponse;
  acceptWrites(nodeId: string, entries: WriteEntry[]): Promise<ForwardResult>;
  identify(request: IdentifyRequest): IdentifyDecision;
  detach(shardId: number, epoch: number): Promise<ResumeInfo>;
  start(shardId: number, epoch: number, resume: ResumeInfo | null): void;
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
  app.post('/heartbeat', async (c) => c.json(deps.heartbeat(await parseBody(c, heartbeatRequest))));
  app.post('/identify', async (c) => c.json(deps.identify(await parseBody(c, identifyRequest))));
  app.post('/writes', async (c) => {
    const body = await parseBody(c, writesRequest);
    // Validate everything before writing anything: a bad batch is refused whole.
    const entries = body.entries.map((entry, i) => {
      try {
        return parseWriteEntry(entry);
      } catch (error) {
        throw new ShardlineError('INVALID_INPUT', `entries[${i}]: ${(error as Error).message}`);
      }
    });
    return c.json(await deps.acceptWrites(body.nodeId, entries));
  });
  app.post('/shards/:id/detach', async (c) => {
    const body = await parseBody(c, detachRequest);
    return c.json(await deps.detach(shardIdParam(c.req.param('id')), body.epoch));
  });
  app.post('/shards/:id/start', async (c) => {
    const body = await parseBody(c, startRequest);
    deps.start(shardIdParam(c.req.param('id')), body.epoch, body.resume === undefined ? null : parseResumeInfo(body.resume));
    return c.json({ ok: true });
  });
  return app;
}

export function shardIdParam(text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new ShardlineError('INVALID_INPUT', `Shard id must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

import { z } from 'zod';
import type { HeartbeatResponse } from '../cluster/cluster-protocol.ts';
import type { ForwardResult } from '../cluster/forwarding-writer.ts';
import type { NodeRetireResult } from '../cluster/reshard-protocol.ts';
import type { ReshardStarted } from '../cluster/resharder-types.ts';
import type { ReshardView } from '../cluster/reshard-view.ts';
import type { LeaseGrant } from '../cluster/rest-budget-protocol.ts';
import type { IdentifyDecision } from '../core/identify-budget.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import { documents } from '../openapi/documents.ts';
import type { DrainReport, MoveReport, ResumeResult, TakeoverResult } from './control-operations.ts';
import type { Readiness } from './create-control-app.ts';

/**
 * What the node's routes answer, as zod schemas for the OpenAPI document (GET /openapi.json).
 * Each is checked against the TypeScript type the route returns (`documents<T>()`), so the
 * document and the code cannot drift apart without the typecheck failing.
 */

const int = z.number().int();
const count = z.number().int().nonnegative();

export const okBody = z.strictObject({ ok: z.literal(true) });

export const healthBody = z.strictObject({ ok: z.literal(true) });

export const readinessBody = documents(
  z.strictObject({ ready: z.boolean(), reasons: z.array(z.string()).describe('Why not ready, one line each; empty when ready') }),
).of<Readiness>(true);

export const resumeInfoBody = documents(
  z.strictObject({
    shardId: count,
    shardCount: z.number().int().min(1),
    sessionId: z.string(),
    seq: count.describe('Last sequence number delivered to (and handled by) the bot'),
    resumeGatewayUrl: z.string(),
  }),
).of<ResumeInfo>(true);

export const takeoverResultBody = documents(
  z.strictObject({ tookMs: z.number().nonnegative(), alreadyPrimary: z.boolean(), primary: z.string().describe("The primary's node id after the takeover (this node)") }),
).of<TakeoverResult>(true);

export const resumeResultBody = documents(z.strictObject({ shardId: count, epoch: count, node: z.string() })).of<ResumeResult>(true);

export const moveReportBody = documents(
  z.strictObject({
    shardId: count,
    from: z.string(),
    to: z.string(),
    epoch: count,
    seq: int.describe('The seq the new owner resumes after'),
    tookMs: z.number().nonnegative(),
    gapMs: z.number().nonnegative().optional().describe("Upper bound of the time no node delivered the shard's events; absent when the new owner was not ready within a few seconds"),
  }),
).of<MoveReport>(true);

export const drainReportBody = documents(
  z.strictObject({
    node: z.string(),
    draining: z.boolean(),
    shards: z.array(count).describe('Shards still assigned to the node when the answer was sent'),
    done: z.boolean().describe('True once a draining node holds no shard (always true for undrain)'),
    tookMs: z.number().nonnegative(),
  }),
).of<DrainReport>(true);

export const reshardStartedBody = documents(
  z.strictObject({ generation: count, from: count, to: count, trigger: z.string(), groups: count.describe("Switch groups: the old set's shards hand over in this many steps") }),
).of<ReshardStarted>(true);

export const reshardViewBody = documents(
  z.strictObject({
    generation: count,
    from: z.strictObject({ generation: count, shardCount: count }),
    to: count,
    trigger: z.string(),
    phase: z.enum(['identifying', 'switching', 'done', 'aborted']),
    startedAt: int,
    finishedAt: int.nullable(),
    reason: z.string().nullable(),
    groups: z.array(z.strictObject({ index: count, oldShards: z.array(count), newShards: z.array(count), switched: z.boolean() })),
    shards: z.array(z.strictObject({ shardId: count, nodeId: z.string().nullable(), epoch: count, status: z.string().nullable(), caughtUp: z.boolean().nullable() })),
    identifies: count,
  }),
).of<ReshardView>(true);

/** POST /query: BLOB values come as `{ "$blob": "<base64>" }` (src/store/result-json.ts). */
export const queryResultBody = z.strictObject({
  columns: z.array(z.string()),
  rows: z.array(z.array(z.union([z.string(), z.number(), z.null(), z.strictObject({ $blob: z.base64() })]))),
  truncated: z.boolean().describe('More rows matched than maxRows'),
});

export const heartbeatResponseBody = documents(z.strictObject({ primary: z.string(), shardCount: count })).of<HeartbeatResponse>(true);

export const identifyDecisionBody = documents(
  z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('grant'), bucket: count, remaining: int }),
    z.strictObject({ kind: z.literal('wait'), bucket: count, retryAfterMs: z.number().nonnegative() }),
    z.strictObject({ kind: z.literal('refuse'), reason: z.string(), retryAfterMs: z.number().nonnegative() }),
  ]),
).of<IdentifyDecision>(true);

export const forwardResultBody = documents(
  z.strictObject({ stale: z.array(z.strictObject({ shardId: count, epoch: count, generation: count.optional() })).describe('Entries refused for a stale epoch: the sender stops those shards') }),
).of<ForwardResult>(true);

export const leaseGrantBody = documents(
  z.strictObject({
    primary: z.string(),
    limit: z.number().nonnegative(),
    share: z.number().nonnegative(),
    ttlMs: z.number().nonnegative(),
    fallbackShare: z.number().nonnegative(),
    nodes: count,
    shares: z.record(z.string(), z.number()),
    invalid: z.strictObject({ count, limit: count, windowMs: z.number().nonnegative() }),
    buckets: z.array(
        z.strictObject({ route: z.string(), hash: z.string(), major: z.string(), limit: count, blockedForMs: z.number().nonnegative(), contenders: z.array(z.string()) }),
    ),
  }),
).of<LeaseGrant>(true);

export const nodeRetireResultBody = documents(
  z.strictObject({ keys: z.array(z.string()), retired: z.array(count), uncovered: z.array(count) }),
).of<NodeRetireResult>(true);

export const shardStatsBody = z.strictObject({ status: z.string(), readySince: int.nullable(), seq: int.nullable() });

export const heldWritesBody = z.strictObject({ heldMs: z.number().nonnegative().describe('How long writes stay held') });

/** The dashboard's pages and the reference page. */
export const htmlBody = z.string().describe('An HTML page');

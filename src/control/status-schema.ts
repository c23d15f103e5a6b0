import { z } from 'zod';
import { SHARD_STATUSES } from '../gateway/shard-status.ts';
import type { HostStatus } from '../host/host-status.ts';
import type { ShardRunnerStats } from '../host/shard-runner.ts';
import { documents } from '../openapi/documents.ts';
import { reshardViewBody } from './api-schemas.ts';
import type { ShardRate } from './shard-rates.ts';

const int = z.number().int();
const count = z.number().int().nonnegative();
const nullableTime = int.nullable();

const shardStats = documents<ShardRunnerStats & Partial<ShardRate>>()(
  z.strictObject({
    shardId: count,
    shardCount: count,
    generation: count,
    mode: z.enum(['live', 'shadow']),
    caughtUp: z.boolean(),
    closeCode: int.nullable(),
    epoch: count,
    status: z.enum(SHARD_STATUSES),
    sessionId: z.string().nullable(),
    seq: int.nullable(),
    readySince: nullableTime,
    events: count,
    identifies: count,
    resumes: count,
    reconnects: count,
    heartbeatMs: z.number().nullable(),
    eventsByType: z.record(z.string(), count),
    sessionAgeMs: z.number().nullable().optional().describe('Since READY or RESUMED on this node; null while not connected'),
    eventsPerSecond: z.number().nullable().optional().describe('Over the last few seconds of status calls; null until two samples exist'),
  }),
  true,
);

/** A part described by its main fields; the rest of its fields are reported as they are. */
const open = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);

/** GET /status: one node's view of the cluster, bounded by construction (contract 14). */
export const statusBody = documents<HostStatus>()(
  z.strictObject({
    node: z.strictObject({
      id: z.string(),
      role: z.enum(['primary', 'replica', 'unknown']),
      primary: z.string().nullable().describe("The primary's node id as LiteFS names it"),
      mode: z.enum(['embedded', 'cluster']),
      version: z.string(),
      startedAt: int,
      state: z.string(),
      url: z.string().nullable(),
    }),
    shardCount: count,
    shards: z.array(shardStats).describe('Shards running on this node'),
    pendingShards: z.array(shardStats).optional().describe("This node's shards of a reshard's new set"),
    reshard: reshardViewBody.nullable().optional(),
    nodes: z
      .array(z.strictObject({ id: z.string(), url: z.string(), version: z.string(), startedAt: int, lastHeartbeatAt: int, draining: z.boolean() }))
      .max(256)
      .describe('The nodes heard from most recently'),
    assignments: z.array(z.strictObject({ generation: count.optional(), shardId: count, nodeId: z.string().nullable(), epoch: count, state: z.string(), updatedAt: int })),
    identify: z.strictObject({ total: count, remaining: int, resetAt: int, maxConcurrency: count, reserve: count, granted: count }).nullable(),
    funnel: open({ queuedEntries: count, queuedRows: count, transactions: count, committedRows: count, thread: z.boolean() }).nullable().describe('The write funnel; only on the primary'),
    forwarder: z.strictObject({ queuedEntries: count, queuedRows: count, batches: count, failures: count }).nullable(),
    queries: z.strictObject({ running: count, waiting: count, abandoned: count, abandonedTotal: count }).nullable(),
    botQueries: z.strictObject({ running: count, waiting: count, abandoned: count, abandonedTotal: count }).nullable(),
    eventLoop: z.strictObject({ stalls: count, stalledMs: z.number().nonnegative(), maxStallMs: z.number().nonnegative(), lastStallMs: z.number().nullable(), lastStallAt: nullableTime, busyStalls: count }),
    events: z
      .array(z.strictObject({ id: int, at: int, kind: z.string(), nodeId: z.string().nullable(), shardId: int.nullable(), detail: z.record(z.string(), z.unknown()) }))
      .max(50)
      .describe('Recent joins, moves, failovers and takeovers, newest first'),
    rest: open({ node: open({}), cluster: open({}).nullable() }).nullable().optional(),
  }),
  true,
);

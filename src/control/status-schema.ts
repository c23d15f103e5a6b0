import { z } from 'zod';
import { SHARD_STATUSES } from '../gateway/shard-status.ts';
import type { HostStatus } from '../host/host-status.ts';
import type { ShardRunnerStats } from '../host/shard-runner.ts';
import { documents } from '../openapi/documents.ts';
import { reshardViewBody } from './api-schemas.ts';
import type { ShardRate } from './shard-rates.ts';

const int = z.number().int();
const count = z.number().int().nonnegative();

const runnerStats = documents(
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
    readySince: int.nullable(),
    events: count,
    identifies: count,
    resumes: count,
    reconnects: count,
    heartbeatMs: z.number().nullable(),
    eventsByType: z.record(z.string(), count),
  }),
).of<ShardRunnerStats>(true);

/** GET /status adds each running shard's rates (shard-rates.ts). */
const shardWithRates = documents(
  runnerStats.extend({
    sessionAgeMs: z.number().nullable().optional().describe('Since READY or RESUMED on this node; null while not connected'),
    eventsPerSecond: z.number().nullable().optional().describe('Over the last few seconds of status calls; null until two samples exist'),
  }),
).of<ShardRunnerStats & Partial<ShardRate>>(true);

/** A part described by its main fields; its other fields are reported as they are. */
const open = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);

const threads = z.strictObject({ running: count, waiting: count, abandoned: count, abandonedTotal: count });

/** What GET /status answers: the host's status with rates on its running shards. */
type StatusAnswer = Omit<HostStatus, 'shards'> & { readonly shards: readonly (ShardRunnerStats & Partial<ShardRate>)[] };

/** GET /status: one node's view of the cluster, bounded by construction (contract 14). */
export const statusBody = documents(
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
    shards: z.array(shardWithRates).describe('Shards running on this node'),
    pendingShards: z.array(runnerStats).optional().describe("This node's shards of a reshard's new set"),
    reshard: reshardViewBody.nullable().optional(),
    nodes: z
      .array(z.strictObject({ id: z.string(), url: z.string(), version: z.string(), startedAt: int, lastHeartbeatAt: int, draining: z.boolean() }))
      .max(256)
      .describe('The nodes heard from most recently'),
    assignments: z.array(
      z.strictObject({ generation: count.optional(), shardId: count, nodeId: z.string().nullable(), epoch: count, state: z.string(), updatedAt: int }),
    ),
    identify: z.strictObject({ total: count, remaining: int, resetAt: int, maxConcurrency: count, reserve: count, granted: count }).nullable(),
    funnel: open({ queuedEntries: count, queuedRows: count, transactions: count, committedRows: count, thread: z.boolean() })
      .nullable()
      .describe('The write funnel; only on the primary'),
    forwarder: z.strictObject({ queuedEntries: count, queuedRows: count, batches: count, entries: count, failures: count, staleRejected: count }).nullable(),
    queries: threads.nullable(),
    botQueries: threads.nullable(),
    eventLoop: z.strictObject({
      stalls: count,
      stalledMs: z.number().nonnegative(),
      maxStallMs: z.number().nonnegative(),
      lastStallMs: z.number().nullable(),
      lastStallAt: int.nullable(),
      busyStalls: count,
      maxBusyStallMs: z.number().nonnegative(),
    }),
    events: z
      .array(z.strictObject({ id: int, at: int, kind: z.string(), nodeId: z.string().nullable(), shardId: int.nullable(), detail: z.record(z.string(), z.unknown()) }))
      .max(50)
      .describe('Recent joins, moves, failovers and takeovers, newest first'),
    rest: open({ node: open({}), cluster: open({}).nullable() }).nullable().optional(),
  }),
).of<StatusAnswer>(true);

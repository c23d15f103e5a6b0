import { readAssignments, readNodes, recentEvents, type AssignmentRow, type ClusterEventRow, type NodeRow } from '../cluster/cluster-tables.ts';
import type { ForwardingWriter } from '../cluster/forwarding-writer.ts';
import type { PrimaryRole } from '../cluster/primary-role.ts';
import { StaticLeadership } from '../cluster/static-leadership.ts';
import type { Readiness } from '../control/create-control-app.ts';
import type { IdentifyBudgetSnapshot } from '../core/identify-budget.ts';
import type { Leadership } from '../core/leadership.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { QueryThreadsStats } from '../store/query-threads.ts';
import type { LoopStallStats } from './loop-stall-monitor.ts';
import type { RestBudgetView } from './rest-budget-host.ts';
import type { WriteFunnelStats } from '../store/write-funnel.ts';
import type { ShardRunner, ShardRunnerStats } from './shard-runner.ts';
import type { ReshardView } from '../cluster/reshard-view.ts';

/**
 * What GET /status and the dashboard show is bounded by construction (contract 14): shards by
 * the shard count, nodes to the 256 heard from most recently, events to the last 50 (a detail
 * over 4 KiB left out), event names per shard to the known ones and 16 others.
 */
export const STATUS_LIMITS = { nodes: 256, events: 50 } as const;

/** What GET /status answers and the dashboard renders: one node's view of the cluster. */
export interface HostStatus {
  readonly node: {
    readonly id: string;
    readonly role: 'primary' | 'replica' | 'unknown';
    /** The primary's node id as LiteFS names it. */
    readonly primary: string | null;
    readonly mode: 'embedded' | 'cluster';
    readonly version: string;
    readonly startedAt: number;
    readonly state: string;
    readonly url: string | null;
  };
  readonly shardCount: number;
  /** Shards running on this node. */
  readonly shards: readonly ShardRunnerStats[];
  /** This node's shards of a reshard's new set (empty when none runs). */
  readonly pendingShards?: readonly ShardRunnerStats[];
  /** The running reshard, or the last one (contract 13). */
  readonly reshard?: ReshardView | null;
  /** The nodes heard from most recently (at most STATUS_LIMITS.nodes), from the (replicated) nodes table. */
  readonly nodes: readonly NodeRow[];
  /** Who runs which shard at which epoch, from the (replicated) assignments table. */
  readonly assignments: readonly AssignmentRow[];
  /** The identify budget; only the primary keeps it. */
  readonly identify: IdentifyBudgetSnapshot | null;
  /** The write funnel; only on the primary. */
  readonly funnel: WriteFunnelStats | null;
  /** Writes waiting to be forwarded to the primary. */
  readonly forwarder: ReturnType<ForwardingWriter['stats']> | null;
  /** POST /query's threads; null where queries run on the event loop (a runtime without threads). */
  readonly queries: QueryThreadsStats | null;
  /** ctx.query()'s threads, apart from POST /query's so that neither waits behind the other's slow SQL. */
  readonly botQueries: QueryThreadsStats | null;
  /** Times this node's event loop was blocked long enough that shards could not read or heartbeat. */
  readonly eventLoop: LoopStallStats;
  /** Recent joins, moves, failovers and takeovers, newest first. */
  readonly events: readonly ClusterEventRow[];
  /** REST: this node's share of the token's global limit, what it sent, 429s by scope, invalid answers against the ban; the primary adds every node's. */
  readonly rest?: RestBudgetView | null;
}

/** One node's parts as they are when GET /status asks; each may be absent while the node starts or stops. */
export interface HostStatusInputs {
  readonly nodeId: string;
  readonly leadership: Leadership;
  readonly version: string;
  readonly startedAt: number;
  readonly state: string;
  readonly url: string | null;
  readonly shardCount: number;
  readonly runners: readonly ShardRunner[];
  readonly pendingRunners?: readonly ShardRunner[];
  readonly reshard?: ReshardView | null;
  readonly readDb: SqliteDriver | null;
  readonly primary: PrimaryRole | null;
  readonly forwarder: HostStatus['forwarder'];
  readonly queries: QueryThreadsStats | null;
  readonly botQueries: QueryThreadsStats | null;
  readonly eventLoop: LoopStallStats;
  readonly rest?: RestBudgetView | null;
}

export function hostStatus(inputs: HostStatusInputs): HostStatus {
  const role = inputs.leadership.current();
  const db = inputs.readDb;
  return {
    node: {
      id: inputs.nodeId,
      role: role.isPrimary ? 'primary' : role.known ? 'replica' : 'unknown',
      primary: role.primary,
      mode: inputs.leadership instanceof StaticLeadership ? 'embedded' : 'cluster',
      version: inputs.version,
      startedAt: inputs.startedAt,
      state: inputs.state,
      url: inputs.url,
    },
    shardCount: inputs.shardCount,
    shards: inputs.runners.map((r) => r.stats()),
    pendingShards: (inputs.pendingRunners ?? []).map((r) => r.stats()),
    reshard: inputs.reshard ?? null,
    nodes: db ? readNodes(db, STATUS_LIMITS.nodes) : [],
    assignments: db ? [...readAssignments(db).values()] : [],
    identify: inputs.primary?.budget?.snapshot() ?? null,
    funnel: inputs.primary ? inputs.primary.funnel.stats() : null,
    forwarder: inputs.forwarder,
    queries: inputs.queries,
    botQueries: inputs.botQueries,
    eventLoop: inputs.eventLoop,
    events: db ? recentEvents(db, STATUS_LIMITS.events) : [],
    rest: inputs.rest ?? null,
  };
}

/** GET /ready: ready once running, with a known role, an open database and every shard here ready. */
export function hostReadiness(inputs: Pick<HostStatusInputs, 'state' | 'leadership' | 'readDb' | 'runners'>): Readiness {
  const reasons: string[] = [];
  if (inputs.state !== 'running') reasons.push(`host is ${inputs.state}`);
  if (!inputs.leadership.current().known) reasons.push('role unknown: LiteFS has not said who is primary');
  if (!inputs.readDb) reasons.push('database is not open');
  for (const runner of inputs.runners) {
    if (runner.shard.status !== 'ready') reasons.push(`shard ${runner.shardId} is ${runner.shard.status}`);
  }
  return { ready: reasons.length === 0, reasons };
}

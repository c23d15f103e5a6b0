import type { AssignmentRow, ClusterEventRow, NodeRow } from '../cluster/cluster-tables.ts';
import type { IdentifyBudgetSnapshot } from '../core/identify-budget.ts';
import type { WriteFunnelStats } from '../store/write-funnel.ts';
import type { ShardRunnerStats } from './shard-runner.ts';

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
  /** Every node, from the (replicated) nodes table. */
  readonly nodes: readonly NodeRow[];
  /** Who runs which shard at which epoch, from the (replicated) assignments table. */
  readonly assignments: readonly AssignmentRow[];
  /** The identify budget; only the primary keeps it. */
  readonly identify: IdentifyBudgetSnapshot | null;
  /** The write funnel; only on the primary. */
  readonly funnel: WriteFunnelStats | null;
  /** Writes waiting to be forwarded to the primary. */
  readonly forwarder: { readonly queuedEntries: number; readonly queuedRows: number; readonly batches: number; readonly failures: number } | null;
  /** Recent joins, moves, failovers and takeovers, newest first. */
  readonly events: readonly ClusterEventRow[];
}

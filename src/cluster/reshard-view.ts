import { switchGroups } from '../core/reshard-plan.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { identifiesOf, readAssignments } from './cluster-tables.ts';
import { readShardSets, type ShardSetRow } from './shard-sets.ts';

/** One shard of a reshard's new set, as a node's runner reports it. */
export interface ReshardShardReport {
  readonly status: string;
  readonly caughtUp: boolean;
}

/**
 * The latest reshard as any node's replica sees it (GET /status, GET /reshard, the dashboard):
 * the one running, or else the last one that finished or was rolled back.
 */
export interface ReshardView {
  readonly generation: number;
  readonly from: { readonly generation: number; readonly shardCount: number };
  readonly to: number;
  readonly trigger: string;
  /** identifying: the new set starts, nothing switched yet; switching: some groups switched; done; aborted. */
  readonly phase: 'identifying' | 'switching' | 'done' | 'aborted';
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly reason: string | null;
  readonly groups: readonly { readonly index: number; readonly oldShards: readonly number[]; readonly newShards: readonly number[]; readonly switched: boolean }[];
  /** The new set's shards: who runs them and (from runners this node knows of) how they are doing. */
  readonly shards: readonly { readonly shardId: number; readonly nodeId: string | null; readonly epoch: number; readonly status: string | null; readonly caughtUp: boolean | null }[];
  /** IDENTIFYs the new set has taken (the identify ledger). */
  readonly identifies: number;
}

export function reshardView(db: SqliteDriver, reports: (shardId: number, generation: number) => ReshardShardReport | null = () => null): ReshardView | null {
  const latest = readShardSets(db, 5).find((row) => row.detail.from !== undefined);
  return latest ? viewOf(db, latest, reports) : null;
}

function viewOf(db: SqliteDriver, row: ShardSetRow, reports: (shardId: number, generation: number) => ReshardShardReport | null): ReshardView {
  const from = row.detail.from!;
  const switched = new Set(row.detail.switched ?? []);
  const phase = row.state === 'pending' ? (switched.size === 0 ? 'identifying' : 'switching') : row.state === 'aborted' ? 'aborted' : 'done';
  const assignments = phase === 'aborted' ? new Map() : readAssignments(db, row.generation);
  return {
    generation: row.generation,
    from: { generation: from.generation, shardCount: from.shardCount },
    to: row.shardCount,
    trigger: row.detail.trigger ?? 'unknown',
    phase,
    startedAt: row.detail.startedAt ?? row.createdAt,
    finishedAt: row.detail.finishedAt ?? null,
    reason: row.detail.reason ?? null,
    groups: switchGroups(from.shardCount, row.shardCount).map((g) => ({ ...g, switched: phase === 'done' || switched.has(g.index) })),
    shards: Array.from({ length: row.shardCount }, (_, shardId) => {
      const assignment = assignments.get(shardId);
      const report = reports(shardId, row.generation);
      return { shardId, nodeId: assignment?.nodeId ?? null, epoch: assignment?.epoch ?? 0, status: report?.status ?? null, caughtUp: report?.caughtUp ?? null };
    }),
    identifies: row.detail.identifies ?? identifiesOf(db, row.generation),
  };
}

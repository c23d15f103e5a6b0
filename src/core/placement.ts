/**
 * Shard placement, as a pure function. The coordinator (primary only) calls it whenever
 * membership or assignments change and applies the moves it returns.
 *
 * Properties (each covered by a test):
 * - sticky: a shard on an eligible node stays there unless that node holds too many;
 * - balanced: every eligible node ends within one shard of the mean;
 * - fewest moves: only shards above a node's target, or on ineligible nodes, move;
 * - draining and dead nodes get nothing and lose everything;
 * - no eligible node: nothing changes (running shards keep running).
 */
export interface PlacementNode {
  readonly id: string;
  /** Heartbeating within nodeTimeout. */
  readonly alive: boolean;
  /** Asked to give its shards away (deploy, maintenance). */
  readonly draining: boolean;
}

export type MoveKind =
  /** The shard has no owner yet (cold start, new shard). */
  | 'place'
  /** The owner is dead: the new owner resumes from the last committed seq. */
  | 'failover'
  /** The owner is alive (rebalance or drain): move by handoff, rate-limited. */
  | 'handoff';

export interface Move {
  readonly shardId: number;
  readonly from: string | null;
  readonly to: string;
  readonly kind: MoveKind;
}

export interface PlacementInput {
  readonly shardCount: number;
  /** Current owner per shard id; missing or null means unassigned. */
  readonly owners: ReadonlyMap<number, string | null>;
  readonly nodes: readonly PlacementNode[];
  /** Shards that are neither placed nor moved (an old set's shards whose range switched to a new set). */
  readonly skip?: ReadonlySet<number>;
}

export function planPlacement(input: PlacementInput): Move[] {
  const eligible = input.nodes.filter((n) => n.alive && !n.draining).map((n) => n.id).sort();
  if (eligible.length === 0 || input.shardCount === 0) return [];
  const known = new Map(input.nodes.map((n) => [n.id, n]));

  const held = new Map<string, number[]>(eligible.map((id) => [id, []]));
  const free: { shardId: number; from: string | null; kind: MoveKind }[] = [];
  const skip = input.skip;
  const count = input.shardCount - (skip ? [...skip].filter((s) => s >= 0 && s < input.shardCount).length : 0);
  if (count === 0) return [];
  for (let shardId = 0; shardId < input.shardCount; shardId++) {
    if (skip?.has(shardId)) continue;
    const owner = input.owners.get(shardId) ?? null;
    const list = owner === null ? undefined : held.get(owner);
    if (list) list.push(shardId);
    else if (owner === null) free.push({ shardId, from: null, kind: 'place' });
    else free.push({ shardId, from: owner, kind: known.get(owner)?.alive ? 'handoff' : 'failover' });
  }

  // Nodes already holding the most keep the extra shard, which minimises moves.
  const base = Math.floor(count / eligible.length);
  const extra = count % eligible.length;
  const byLoad = [...eligible].sort((a, b) => held.get(b)!.length - held.get(a)!.length || a.localeCompare(b));
  const target = new Map(byLoad.map((id, i) => [id, base + (i < extra ? 1 : 0)]));

  for (const id of eligible) {
    const list = held.get(id)!;
    const keep = target.get(id)!;
    // Keep the lowest shard ids so repeated plans are deterministic.
    for (const shardId of list.splice(keep).reverse()) free.push({ shardId, from: id, kind: 'handoff' });
  }

  free.sort((a, b) => a.shardId - b.shardId);
  const moves: Move[] = [];
  for (const shard of free) {
    let best: string | null = null;
    let bestDeficit = 0;
    for (const id of eligible) {
      const deficit = target.get(id)! - held.get(id)!.length;
      if (deficit > bestDeficit) {
        best = id;
        bestDeficit = deficit;
      }
    }
    if (best === null) break;
    held.get(best)!.push(shard.shardId);
    moves.push({ shardId: shard.shardId, from: shard.from, to: best, kind: shard.kind });
  }
  return moves;
}

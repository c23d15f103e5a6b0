import type { Move } from '../core/placement.ts';

/** Why the coordinator moves a live node's shard; recorded with each MOVE event. */
export type HandoffReason = 'rebalance' | 'drain' | 'leave' | 'manual';

export interface HandoffLimits {
  /** Rebalancing moves running at once (a node joined or the load is uneven): no hurry. */
  readonly rebalance: number;
  /**
   * Moves off a draining or leaving node running at once. A move is a resume, never an
   * IDENTIFY, so Discord's identify spacing does not bound them; the node has a deadline.
   */
  readonly drain: number;
}

/**
 * Picks the planner's handoffs to start now (a pure function; the coordinator runs them).
 * A move off a node that leaves or drains is a drain move, counted against `limits.drain`;
 * any other is counted against `limits.rebalance`. `inFlight` holds the reason of every move
 * already running (null for a manual handoff's release, which counts as rebalancing).
 * Drain moves come first: a leaving node is on a deadline, a rebalance is not.
 */
export function pickHandoffs(
  moves: readonly Move[],
  inFlight: Iterable<HandoffReason | null>,
  sourceState: (nodeId: string) => 'leaving' | 'draining' | 'other',
  limits: HandoffLimits,
): { move: Move; reason: HandoffReason }[] {
  let drainRoom = limits.drain;
  let rebalanceRoom = limits.rebalance;
  for (const reason of inFlight) {
    if (reason === 'drain' || reason === 'leave') drainRoom--;
    else rebalanceRoom--;
  }
  const drains: { move: Move; reason: HandoffReason }[] = [];
  const rebalances: { move: Move; reason: HandoffReason }[] = [];
  for (const move of moves) {
    if (move.kind !== 'handoff' || move.from === null) continue;
    const state = sourceState(move.from);
    if (state === 'other') rebalances.push({ move, reason: 'rebalance' });
    else drains.push({ move, reason: state === 'leaving' ? 'leave' : 'drain' });
  }
  return [...drains.slice(0, Math.max(0, drainRoom)), ...rebalances.slice(0, Math.max(0, rebalanceRoom))];
}

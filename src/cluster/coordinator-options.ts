import type { Clock, Logger } from '../core/ports.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { ResharderDeps } from './resharder.ts';

/** How the coordinator acts on nodes: in-process for itself, over HTTP for the others. */
export interface NodeCommands {
  /** Detach the shard on `nodeId` (it must run it at `epoch`) and return its resume info; its writes are flushed first. */
  detach(nodeId: string, shardId: number, epoch: number): Promise<ResumeInfo>;
  /** Ask `nodeId` to start the shard now at `epoch` (resuming when `resume` is given). Best effort: the node's reconcile loop is the backstop. */
  start(nodeId: string, shardId: number, epoch: number, resume: ResumeInfo | null): Promise<void>;
}

export interface CoordinatorOptions {
  readonly nodeId: string;
  /** The primary's writable connection. */
  readonly db: SqliteDriver;
  readonly shardCount: number;
  readonly commands: NodeCommands;
  readonly logger: Logger;
  /** A node is dead after this long without a heartbeat. Default 5000. */
  readonly nodeTimeoutMs?: number;
  readonly tickMs?: number;
  /**
   * After becoming primary, unowned shards wait this long so that nodes starting together
   * all get a share instead of one node identifying everything; handoffs wait too (the
   * takeover's backlog of writes lands first). Failovers never wait. Default 1500.
   */
  readonly settleMs?: number;
  /** Rebalancing handoffs running at once (failovers are never held back). Default 1. */
  readonly maxConcurrentHandoffs?: number;
  /** Moves off a draining or leaving node running at once (each a resume, no IDENTIFY). Default 8. */
  readonly maxConcurrentDrainMoves?: number;
  readonly clock?: Clock;
  /**
   * A shard handed off by hand (POST /shards/:id/handoff) waits this long for the matching
   * resume before the planner places it again from the committed session. Default 60 000.
   */
  readonly detachedTimeoutMs?: number;
  /** Called after assignments changed in the database (the local agent reconciles at once). */
  readonly onAssignmentsChanged?: () => void;
  /** True while the primary's writes are held for a lease handoff: rounds are skipped. */
  readonly writesHeld?: () => boolean;
  /**
   * Runs a write of this connection while no other connection commits (the funnel's thread
   * sends nothing meanwhile), so the event loop never sits in SQLite's synchronous busy wait,
   * which under load lasts a whole batch (tens of ms). Every write of the coordinator after
   * start() goes through it. Default: on the next microtask.
   */
  readonly exclusive?: <T>(write: () => T) => Promise<T>;
  /** What resharding needs from the host (node commands, /gateway/bot, the identify budget); absent: reshards are refused. */
  readonly reshard?: ResharderDeps;
}

export interface MoveResult {
  readonly shardId: number;
  readonly from: string;
  readonly to: string;
  readonly epoch: number;
  /** The seq the new owner resumes after. */
  readonly seq: number;
  readonly tookMs: number;
}

/** A shard released for a manual handoff: its final resume info, committed with the epoch bump. */
export interface ReleaseResult {
  readonly resume: ResumeInfo;
  /** The epoch of the 'detached' row (no node runs the shard at it). */
  readonly epoch: number;
}

export interface ClaimResult {
  readonly shardId: number;
  readonly epoch: number;
  readonly node: string;
}

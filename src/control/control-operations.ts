import { z } from 'zod';
import { resumeInfoJson } from '../cluster/cluster-protocol.ts';
import type { ClaimResult, MoveResult } from '../cluster/coordinator-options.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import type { MetricsSnapshot } from './metrics.ts';
import type { ReshardOperations } from './reshard-admin-routes.ts';

/**
 * What the admin routes ask of the node (the host implements it; route tests pass fakes).
 * Every method either does the whole thing or throws a ShardlineError and changes nothing.
 */
export interface ControlOperations {
  /** The bot's shard count on this node (0 until the host has asked Discord). */
  shardCount(): number;
  takeover(options: { timeoutMs: number }): Promise<TakeoverResult>;
  /** Detaches a shard that runs here; the primary marks its assignment 'detached'. */
  handoff(shardId: number): Promise<ResumeInfo>;
  /** Starts a 'detached' shard here by RESUME from `info`. */
  resume(shardId: number, info: ResumeInfo): Promise<ResumeResult>;
  /** The orchestrated handoff; a replica forwards it to the primary. */
  move(shardId: number, to: string, options?: { forwarded?: boolean }): Promise<MoveReport>;
  /** Sets the draining flag (on the primary; a replica forwards) and waits up to `waitMs` for the node to hold no shards. */
  drain(nodeId: string, draining: boolean, options: { waitMs: number }): Promise<DrainReport>;
  /** Snapshots for GET /metrics, read at scrape time. */
  metrics(): MetricsSnapshot;
  /** POST and GET /reshard; absent: those routes are not served. */
  readonly reshard?: ReshardOperations;
}

/** Primary-side halves of handoff and resume, reached over /internal from the node the admin called. */
export interface PrimaryOperations {
  releaseShard(request: ReleaseRequest): Promise<ResumeInfo>;
  claimShard(request: ClaimRequest): Promise<ResumeResult>;
  move(shardId: number, to: string, options: { forwarded: true }): Promise<MoveReport>;
  /** Sets and commits the flag only; the node the admin called does the waiting. */
  setDraining(nodeId: string, draining: boolean): Promise<void>;
  /** This node's runner of a shard, for the move's gap measurement; null when it does not run here. */
  shardStats(shardId: number): { readonly status: string; readonly readySince: number | null; readonly seq: number | null } | null;
  /**
   * Holds every write of the primary for `holdMs` (0 releases) before another node takes the
   * LiteFS lease; returns how long writes stay held. Absent: the route is not served.
   */
  holdWrites?(holdMs: number): Promise<{ readonly heldMs: number }>;
  /**
   * A leaving primary asks this node to take the lease (contract 11): the takeover, refused
   * while this node is leaving or stopping itself. Absent: the route is not served.
   */
  takeoverForPeer?(request: PeerTakeoverRequest): Promise<TakeoverResult>;
}

export interface TakeoverResult {
  readonly tookMs: number;
  readonly alreadyPrimary: boolean;
  /** The primary's node id after the takeover (this node). */
  readonly primary: string;
}

/** POST /shards/:id/resume answers with the coordinator's claim as it is. */
export type ResumeResult = ClaimResult;

/** The coordinator's result of a move, and how long the shard's events went undelivered. */
export interface MoveReport extends MoveResult {
  /**
   * From the moment the move asked the old owner to stop to the new owner's RESUMED (wall
   * clocks of two nodes): an upper bound of the time no node delivered the shard's events.
   * Absent when the new owner was not ready within a few seconds.
   */
  readonly gapMs?: number;
}

export interface DrainReport {
  readonly node: string;
  readonly draining: boolean;
  /** Shards still assigned to the node when the answer was sent. */
  readonly shards: readonly number[];
  /** True once a draining node holds no shard (always true for undrain). */
  readonly done: boolean;
  readonly tookMs: number;
}

export const TAKEOVER_LIMITS = { defaultTimeoutMs: 15_000, maxTimeoutMs: 60_000 } as const;
export const DRAIN_LIMITS = { defaultWaitMs: 30_000, maxWaitMs: 120_000 } as const;

/** A route that takes no fields (an empty body counts as `{}`). */
export const emptyBody = z.strictObject({});

const nodeId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a node id (1-64 letters, digits, ".", "_" or "-")');

export const takeoverBody = z.strictObject({
  timeoutMs: z.number().int().min(1).max(TAKEOVER_LIMITS.maxTimeoutMs).default(TAKEOVER_LIMITS.defaultTimeoutMs),
});

/** Exactly the handoff's answer, so it can be posted back as it came. */
export const resumeBody = resumeInfoJson;

export const moveBody = z.strictObject({ to: nodeId });

export const drainBody = z.strictObject({
  waitMs: z.number().int().min(0).max(DRAIN_LIMITS.maxWaitMs).default(DRAIN_LIMITS.defaultWaitMs),
});

// ---- internal (node -> primary) ----

export const releaseRequest = z.strictObject({ nodeId, epoch: z.number().int().nonnegative() });
export type ReleaseRequest = z.infer<typeof releaseRequest> & { readonly shardId: number };

export const claimRequest = z.strictObject({ nodeId, resume: resumeInfoJson });
export interface ClaimRequest {
  readonly shardId: number;
  readonly nodeId: string;
  readonly resume: ResumeInfo;
}

export const forwardedMoveRequest = moveBody;
/** A leaving primary asks a peer to take the lease, and to drain the leaver as soon as its coordinator runs. */
export const peerTakeoverRequest = z.strictObject({
  timeoutMs: z.number().int().min(1).max(TAKEOVER_LIMITS.maxTimeoutMs),
  leaving: nodeId,
});
export type PeerTakeoverRequest = z.infer<typeof peerTakeoverRequest>;
export const forwardedDrainRequest = z.strictObject({ draining: z.boolean() });
/** Longest hold a node taking over may ask for: LiteFS hands off in well under a second. */
export const MAX_WRITE_HOLD_MS = 10_000;
export const holdWritesRequest = z.strictObject({ holdMs: z.number().int().min(0).max(MAX_WRITE_HOLD_MS) });

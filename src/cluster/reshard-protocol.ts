import { z } from 'zod';
import type { ResumeInfo } from '../core/resume-info.ts';

/**
 * What the primary's Resharder asks of the nodes (in-process for itself, over /internal/reshard
 * for the others), and the schemas the receiving side validates.
 */

const generation = z.number().int().nonnegative();
const shardId = z.number().int().nonnegative();

/** Turn on handled-key tracking for the active set before the new set's shards start. */
export const prepareRequest = z.strictObject({ generation });
export type PrepareRequest = z.infer<typeof prepareRequest>;

/**
 * Old shards of a switch group: the owner (epoch given) stops and closes them; every node
 * answers the keys its runners of them handled (a runner handed away mid-reshard left its keys).
 */
export const retireRequest = z.strictObject({
  /** The old (active) set's generation. */
  generation,
  shards: z.array(z.strictObject({ shardId, epoch: z.number().int().nonnegative().nullable() })).min(1).max(65_536),
});
export type RetireRequest = z.infer<typeof retireRequest>;

export interface NodeRetireResult {
  /** Id-carrying dispatches the handlers of these shards saw on this node while the reshard ran. */
  readonly keys: string[];
  /** Shards this node was asked to stop and stopped. */
  readonly retired: number[];
  /** Of those, the ones that were not running (failed, e.g. 4011): no current cache rows for their guilds. */
  readonly uncovered: number[];
}

/** A new-set shard whose group switched: replay what it held back, skipping what the old set handled. */
export const takeOverRequest = z.strictObject({
  generation,
  shardId,
  epoch: z.number().int().nonnegative(),
  skipKeys: z.array(z.string().max(64)).max(5_000_000),
  uncovered: z.boolean(),
});
export type TakeOverRequest = z.infer<typeof takeOverRequest>;

/** How the Resharder acts on nodes. */
export interface ReshardCommands {
  prepare(nodeId: string, request: PrepareRequest): Promise<void>;
  /** Start a shard of the pending set (`shardCount` shards, `generation`) at `epoch`. */
  start(nodeId: string, request: { generation: number; shardCount: number; shardId: number; epoch: number; resume: ResumeInfo | null }): Promise<void>;
  retire(nodeId: string, request: RetireRequest): Promise<NodeRetireResult>;
  takeOver(nodeId: string, request: TakeOverRequest): Promise<void>;
}

/**
 * POST /reshard (admin) and its forward to the primary. `via` only labels the cluster event
 * (the CLI and the dashboard say who they are); a number is checked by the Resharder, so a bad
 * one is refused with the reason.
 */
export const reshardBody = z.strictObject({
  shardCount: z.union([z.number(), z.literal('auto')]),
  via: z.enum(['http', 'cli', 'dashboard']).default('http'),
});
export type ReshardBody = z.infer<typeof reshardBody>;
export type ReshardTrigger = 'http' | 'cli' | 'dashboard' | '4011' | 'recommended';

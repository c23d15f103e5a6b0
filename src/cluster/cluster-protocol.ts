import { z } from 'zod';
import type { IdentifyDecision } from '../core/identify-budget.ts';
import { MAX_SHARDS, MAX_URL_LENGTH, SESSION_ID, type ResumeInfo } from '../core/resume-info.ts';

/**
 * The internal HTTP API between nodes (cluster secret only). Bodies are validated with these
 * schemas on the receiving side; the types are what both sides agree on.
 */

const intIn = (name: string, min: number, max: number) => {
  const message = `${name} must be an integer in [${min}, ${max}]`;
  return z.number(message).int(message).min(min, message).max(max, message);
};

/**
 * Resume info as JSON, as parseResumeInfo takes it (which also checks shardId < shardCount and
 * that the URL parses): the schema of every body that carries it, and of their documentation.
 */
export const resumeInfoJson = z.strictObject({
  shardId: intIn('shardId', 0, MAX_SHARDS - 1),
  shardCount: intIn('shardCount', 1, MAX_SHARDS),
  sessionId: z.string('sessionId must be a string').regex(SESSION_ID, 'sessionId must be a non-empty string of at most 256 printable ASCII characters, without spaces'),
  seq: intIn('seq', 0, Number.MAX_SAFE_INTEGER).describe('Last sequence number handled'),
  resumeGatewayUrl: z
    .string('resumeGatewayUrl must be a string')
    .max(MAX_URL_LENGTH, `resumeGatewayUrl must be a ws:// or wss:// URL of at most ${MAX_URL_LENGTH} characters`)
    .regex(/^wss?:\/\/[^\s/?#]+/i, `resumeGatewayUrl must be a ws:// or wss:// URL of at most ${MAX_URL_LENGTH} characters`),
});

export const heartbeatRequest = z.strictObject({
  nodeId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  url: z.url().max(2048),
  version: z.string().max(64),
  startedAt: z.number().int().nonnegative(),
  shards: z
    .array(
      z.strictObject({
        shardId: z.number().int().nonnegative(),
        epoch: z.number().int().nonnegative(),
        status: z.string().max(32),
        seq: z.number().int().nullable(),
        /** The shard set; absent: the active one. */
        generation: z.number().int().nonnegative().optional(),
        /** A new-set shard is past its GUILD_CREATE burst (its group may switch). */
        caughtUp: z.boolean().optional(),
        /** live, or shadow: a new-set shard still holding its events back. */
        mode: z.enum(['live', 'shadow']).optional(),
        /** Why a failed shard failed (4011 asks for a reshard). */
        closeCode: z.number().int().nullable().optional(),
      }),
    )
    .max(65_536),
  /**
   * 'leaving': the node was told to stop and asks to be drained (it takes no shards, and the
   * primary moves its shards away by resume); 'left': its last heartbeat, sent once it holds no
   * running shard and its writes are acknowledged. Absent: a node that stays.
   */
  leaving: z.enum(['leaving', 'left']).optional(),
});
export type HeartbeatRequest = z.infer<typeof heartbeatRequest>;

export interface HeartbeatResponse {
  /** The primary's node id, so the sender knows whom it reached. */
  readonly primary: string;
  readonly shardCount: number;
}

export const identifyRequest = z.strictObject({
  nodeId: z.string().min(1).max(64),
  shardId: z.number().int().nonnegative(),
  /** The shard set the IDENTIFY is for (the ledger counts a reshard's spend); absent: the active one. */
  generation: z.number().int().nonnegative().optional(),
});
export type IdentifyRequest = z.infer<typeof identifyRequest>;
export type IdentifyResponse = IdentifyDecision;

export const writesRequest = z.strictObject({
  nodeId: z.string().min(1).max(64),
  /** Validated entry by entry with parseWriteEntry (z would be slow on large batches). */
  entries: z.array(z.unknown()).max(100_000),
});

export const detachRequest = z.strictObject({ epoch: z.number().int().nonnegative() });
export type DetachRequest = z.infer<typeof detachRequest>;
export type DetachResponse = ResumeInfo;

export const startRequest = z.strictObject({
  epoch: z.number().int().nonnegative(),
  resume: resumeInfoJson.optional(),
  /** A shard of a reshard's new set (the node may not have replicated the set yet). */
  set: z.strictObject({ generation: z.number().int().nonnegative(), shardCount: z.number().int().min(1).max(65_535) }).optional(),
});
export interface StartRequest {
  readonly epoch: number;
  readonly resume?: ResumeInfo;
  readonly set?: { readonly generation: number; readonly shardCount: number };
}

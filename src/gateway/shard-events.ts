import type { CloseAction } from '../core/close-codes.ts';
import type { ShardlineError } from '../core/errors.ts';
import type { ShardStatus } from './shard-status.ts';

/** What a Shard emits; every payload names the shard so one listener can serve many. */
export interface ShardEvents {
  /** A new session started (READY handled). */
  ready: { shardId: number; sessionId: string; resumeGatewayUrl: string };
  /** A session was resumed (RESUMED handled); `seq` is the last handled seq at that moment. */
  resumed: { shardId: number; sessionId: string; seq: number };
  /** The shard is live for the bot: after an identify's READY and after a RESUMED. */
  shardReady: { shardId: number; sessionId: string; resumed: boolean };
  status: { shardId: number; status: ShardStatus; previous: ShardStatus };
  /** Heartbeat round trip. */
  heartbeat: { shardId: number; latencyMs: number };
  /** Discord refused the session for good (GATEWAY_FATAL); the shard is `failed`. */
  error: ShardlineError;
  /** One gateway socket closed; `action` is what the shard does next (or did, for its own closes). */
  closed: { shardId: number; code: number; reason: string; action: CloseAction; byClient: boolean };
}

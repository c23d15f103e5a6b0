import type { GatewayDispatchPayload, GatewayIdentifyProperties, GatewayPresenceUpdateData } from 'discord-api-types/v10';
import { SILENT_LOGGER } from '../core/silent-logger.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Clock, GatewayTransport, IdentifyThrottler, Logger } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';

/** What the handler learns about a dispatch besides the payload. */
export interface DispatchContext {
  shardId: number;
  /** The dispatch's seq (null for a RESUMED without one). */
  seq: number | null;
  sessionId: string;
}

export type DispatchHandler = (payload: GatewayDispatchPayload, context: DispatchContext) => void | Promise<void>;

export interface ShardOptions {
  shardId: number;
  shardCount: number;
  token: string;
  intents: number;
  /** The cached gateway URL from GET /gateway/bot (no query string needed). */
  gatewayUrl: string;
  transport: GatewayTransport;
  identifyThrottler: IdentifyThrottler;
  /**
   * Receives every dispatch (READY and RESUMED included), one at a time. A returned promise
   * is awaited before the next dispatch, and the shard's seq advances only after it settles.
   */
  onDispatch: DispatchHandler;
  logger?: Logger;
  /** Request zlib-stream transport compression. Default true. */
  compress?: boolean;
  identifyProperties?: GatewayIdentifyProperties;
  presence?: GatewayPresenceUpdateData;
  largeThreshold?: number;
  clock?: Clock;
  /** [0, 1) source for heartbeat and backoff jitter. */
  random?: () => number;
  helloTimeoutMs?: number;
  /** Silence allowed between IDENTIFY/RESUME (or the last replayed frame) and READY/RESUMED. */
  readyTimeoutMs?: number;
  /** Failed resume attempts in a row before falling back to IDENTIFY. Default 3. */
  maxResumeAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Wait before re-identifying after op 9 false: uniform in [min, max]. Default 1000..5000. */
  invalidSessionDelayMs?: { min: number; max: number };
  /** Received frames waiting for the handler above which reading pauses. Default 1000. */
  maxPendingFrames?: number;
  /** Largest inflated message accepted from the server. */
  maxMessageBytes?: number;
  sendLimit?: { limit?: number; normalLimit?: number; windowMs?: number };
  /**
   * How long detach()/close() wait for a dispatch handler still running. Past it they go on
   * without it: the resume info then excludes that event, so the next owner gets it again
   * (at-least-once instead of a hang). Default 10 000.
   */
  handlerDrainTimeoutMs?: number;
}

export type ResolvedShardOptions = Required<Omit<ShardOptions, 'presence' | 'largeThreshold' | 'sendLimit'>> &
  Pick<ShardOptions, 'presence' | 'largeThreshold' | 'sendLimit'>;


export function resolveShardOptions(options: ShardOptions): ResolvedShardOptions {
  const { shardId, shardCount } = options;
  if (!Number.isInteger(shardCount) || shardCount < 1 || !Number.isInteger(shardId) || shardId < 0 || shardId >= shardCount) {
    throw new ShardlineError('INVALID_CONFIG', `Invalid shard [${shardId}, ${shardCount}]: need integers with 0 <= shardId < shardCount`);
  }
  if (typeof options.token !== 'string' || options.token.length === 0) {
    throw new ShardlineError('INVALID_CONFIG', `Invalid shard ${shardId}: token is empty`);
  }
  const invalidSessionDelayMs = options.invalidSessionDelayMs ?? { min: 1_000, max: 5_000 };
  if (!(invalidSessionDelayMs.min >= 0 && invalidSessionDelayMs.max >= invalidSessionDelayMs.min)) {
    throw new ShardlineError('INVALID_CONFIG', `Invalid shard ${shardId}: invalidSessionDelayMs needs 0 <= min <= max`);
  }
  return {
    ...options,
    logger: (options.logger ?? SILENT_LOGGER).child({ component: 'shard', shardId }),
    compress: options.compress ?? true,
    identifyProperties: options.identifyProperties ?? { os: 'unknown', browser: 'shardline', device: 'shardline' },
    clock: options.clock ?? systemClock,
    random: options.random ?? Math.random,
    helloTimeoutMs: options.helloTimeoutMs ?? 30_000,
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    maxResumeAttempts: options.maxResumeAttempts ?? 3,
    backoffBaseMs: options.backoffBaseMs ?? 1_000,
    backoffCapMs: options.backoffCapMs ?? 30_000,
    invalidSessionDelayMs,
    maxPendingFrames: Math.max(2, options.maxPendingFrames ?? 1_000),
    maxMessageBytes: options.maxMessageBytes ?? 64 * 1024 * 1024,
    handlerDrainTimeoutMs: options.handlerDrainTimeoutMs ?? 10_000,
  };
}

import { ShardlineError } from './errors.ts';

/** Everything another process needs to RESUME a shard's Discord session. */
export interface ResumeInfo {
  readonly shardId: number;
  readonly shardCount: number;
  readonly sessionId: string;
  /** Last sequence number delivered to (and handled by) the bot. */
  readonly seq: number;
  readonly resumeGatewayUrl: string;
}

const MAX_SHARDS = 1 << 16;

/**
 * Validates untrusted resume info (HTTP body, database row, CLI input). Every problem is
 * named, so a caller knows which field to fix; nothing is coerced silently.
 */
export function parseResumeInfo(value: unknown): ResumeInfo {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ShardlineError('INVALID_INPUT', 'Invalid resume info: expected an object with shardId, shardCount, sessionId, seq, resumeGatewayUrl');
  }
  const v = value as Record<string, unknown>;
  const int = (key: string, min: number, max: number): number => {
    const n = v[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(n)}`);
      return min;
    }
    return n;
  };
  const shardCount = int('shardCount', 1, MAX_SHARDS);
  const shardId = int('shardId', 0, MAX_SHARDS - 1);
  const seq = int('seq', 0, Number.MAX_SAFE_INTEGER);
  if (problems.length === 0 && shardId >= shardCount) problems.push(`shardId ${shardId} must be below shardCount ${shardCount}`);
  const sessionId = v['sessionId'];
  if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 256) {
    problems.push('sessionId must be a non-empty string of at most 256 characters');
  }
  const url = v['resumeGatewayUrl'];
  if (typeof url !== 'string' || !isWebSocketUrl(url)) {
    problems.push(`resumeGatewayUrl must be a ws:// or wss:// URL, got ${JSON.stringify(url)}`);
  }
  if (problems.length > 0) {
    throw new ShardlineError('INVALID_INPUT', `Invalid resume info: ${problems.join('; ')}`, { details: { problems } });
  }
  return { shardId, shardCount, sessionId: sessionId as string, seq, resumeGatewayUrl: url as string };
}

function isWebSocketUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'ws:' || url.protocol === 'wss:';
  } catch {
    return false;
  }
}

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

export const MAX_SHARDS = 1 << 16;
/** Discord's session ids are 32 hex characters; any printable ASCII word up to 256 is accepted. */
export const SESSION_ID = /^[\x21-\x7e]{1,256}$/;
export const MAX_URL_LENGTH = 2048;

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
      problems.push(`${key} must be an integer in [${min}, ${max}], got ${describe(n)}`);
      return min;
    }
    return n;
  };
  const shardCount = int('shardCount', 1, MAX_SHARDS);
  const shardId = int('shardId', 0, MAX_SHARDS - 1);
  const seq = int('seq', 0, Number.MAX_SAFE_INTEGER);
  if (problems.length === 0 && shardId >= shardCount) problems.push(`shardId ${shardId} must be below shardCount ${shardCount}`);
  const sessionId = v['sessionId'];
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) {
    problems.push('sessionId must be a non-empty string of at most 256 printable ASCII characters, without spaces');
  }
  const url = v['resumeGatewayUrl'];
  if (typeof url !== 'string' || url.length > MAX_URL_LENGTH || !isWebSocketUrl(url)) {
    problems.push(`resumeGatewayUrl must be a ws:// or wss:// URL of at most ${MAX_URL_LENGTH} characters, got ${describe(url)}`);
  }
  if (problems.length > 0) {
    throw new ShardlineError('INVALID_INPUT', `Invalid resume info: ${problems.join('; ')}`, { details: { problems } });
  }
  return { shardId, shardCount, sessionId: sessionId as string, seq, resumeGatewayUrl: url as string };
}

/** A value as a problem message shows it: never the whole of a huge one. */
function describe(value: unknown): string {
  let text: string;
  try {
    // JSON cannot write a bigint or a cycle, and String() fails on an object without a prototype.
    text = JSON.stringify(value) ?? typeof value;
  } catch {
    text = typeof value === 'bigint' ? `${value}n` : typeof value;
  }
  return text.length > 80 ? `${text.slice(0, 80)}… (${text.length} characters)` : text;
}

function isWebSocketUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'ws:' || url.protocol === 'wss:';
  } catch {
    return false;
  }
}

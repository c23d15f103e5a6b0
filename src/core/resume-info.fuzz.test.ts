/**
 * Resume info comes from outside: POST /shards/:id/resume bodies, forwarded claims, database
 * rows. Whatever it is, parseResumeInfo either returns resume info a shard can use or throws
 * INVALID_INPUT naming the problem, in a message of bounded length; never another error, and
 * never garbage accepted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isShardlineError } from './errors.ts';
import { parseResumeInfo, type ResumeInfo } from './resume-info.ts';

const valid: ResumeInfo = { shardId: 3, shardCount: 8, sessionId: '0123456789abcdef0123456789abcdef', seq: 42, resumeGatewayUrl: 'wss://gateway-us-east1-b.discord.gg' };

/** What a shard needs, written apart from the parser so the two can disagree. */
function usable(info: ResumeInfo): boolean {
  const int = (n: unknown, min: number, max: number): boolean => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
  return (
    Object.keys(info).sort().join() === 'resumeGatewayUrl,seq,sessionId,shardCount,shardId' &&
    int(info.shardCount, 1, 65_536) &&
    int(info.shardId, 0, info.shardCount - 1) &&
    int(info.seq, 0, Number.MAX_SAFE_INTEGER) &&
    typeof info.sessionId === 'string' && /^[!-~]{1,256}$/.test(info.sessionId) &&
    typeof info.resumeGatewayUrl === 'string' && info.resumeGatewayUrl.length <= 2048 && isWs(info.resumeGatewayUrl)
  );
}

function isWs(text: string): boolean {
  try {
    return ['ws:', 'wss:'].includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

const field = fc.constantFrom<keyof ResumeInfo>('shardId', 'shardCount', 'sessionId', 'seq', 'resumeGatewayUrl');
const anyValue = fc.oneof(
  fc.anything({ withBigInt: true, withNullPrototype: true, withMap: true, withSet: true, withBoxedValues: true, withTypedArray: true, withSparseArray: true }),
  fc.constantFrom<unknown>(NaN, Infinity, -0, 2 ** 53, 65_536, 'ws://', 'wss://a b', 'ws://x\n', `wss://${'h'.repeat(3000)}`, 'sess id', '\u0000', 'ws://[::1]:99999', 'javascript:alert(1)'),
  fc.webUrl().map((u) => u.replace(/^https?/, 'ws')),
  fc.string({ unit: 'binary', maxLength: 300 }),
);

function outcome(value: unknown): { ok: true; info: ResumeInfo } | { ok: false } {
  try {
    return { ok: true, info: parseResumeInfo(value) };
  } catch (error) {
    expect(isShardlineError(error, 'INVALID_INPUT'), String(error)).toBe(true);
    expect((error as Error).message.length).toBeLessThan(2_000);
    return { ok: false };
  }
}

describe('parseResumeInfo under fuzzed input', () => {
  it('answers anything at all with usable resume info or INVALID_INPUT', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const result = outcome(value);
        if (result.ok) expect(usable(result.info)).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });

  it('rejects valid resume info with any one field broken, unless the new value happens to be usable', () => {
    fc.assert(
      fc.property(field, anyValue, (key, value) => {
        const candidate = { ...valid, [key]: value };
        const result = outcome(candidate);
        if (result.ok) expect(usable(result.info) && result.info[key] === value).toBe(true);
        else expect(usable(candidate as ResumeInfo)).toBe(false);
      }),
      { numRuns: 5_000 },
    );
  });

  it('regression: a bigint (or a cyclic value) in a field made the problem message throw a TypeError instead of INVALID_INPUT', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(outcome({ ...valid, shardId: 3n }).ok).toBe(false);
    expect(outcome({ ...valid, seq: cyclic }).ok).toBe(false);
  });

  it('regression: a session id of spaces and control characters, and a resume URL of any length, were accepted', () => {
    expect(outcome({ ...valid, sessionId: ' \n\u0000' }).ok).toBe(false);
    expect(outcome({ ...valid, resumeGatewayUrl: `wss://${'h'.repeat(300_000)}.example` }).ok).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { isShardlineError } from './errors.ts';
import { parseResumeInfo } from './resume-info.ts';

const valid = { shardId: 3, shardCount: 8, sessionId: 'abc', seq: 42, resumeGatewayUrl: 'wss://gateway.example/resume' };

describe('parseResumeInfo', () => {
  it('accepts well-formed resume info', () => {
    expect(parseResumeInfo(valid)).toEqual(valid);
  });

  it.each([
    ['not an object', 'nope', /expected an object/],
    ['an array', [], /expected an object/],
    ['shard id out of range', { ...valid, shardId: 8 }, /shardId 8 must be below shardCount 8/],
    ['negative seq', { ...valid, seq: -1 }, /seq must be an integer/],
    ['fractional shard count', { ...valid, shardCount: 1.5 }, /shardCount must be an integer/],
    ['empty session id', { ...valid, sessionId: '' }, /sessionId must be a non-empty string/],
    ['http url', { ...valid, resumeGatewayUrl: 'http://x' }, /resumeGatewayUrl must be a ws/],
    ['garbage url', { ...valid, resumeGatewayUrl: '::' }, /resumeGatewayUrl must be a ws/],
  ])('rejects %s with INVALID_INPUT', (_name, input, message) => {
    try {
      parseResumeInfo(input);
      expect.unreachable('parseResumeInfo accepted bad input');
    } catch (error) {
      expect(isShardlineError(error, 'INVALID_INPUT')).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('names every problem at once', () => {
    expect(() => parseResumeInfo({ shardId: 'x', shardCount: 0, seq: null })).toThrow(/shardCount.*shardId.*seq.*sessionId.*resumeGatewayUrl/);
  });
});

import { describe, expect, it } from 'vitest';
import { heartbeatFailureLevel } from './heartbeat-failure-level.ts';

describe('heartbeatFailureLevel', () => {
  const levels = (code: string | undefined, reachedBefore: boolean, upTo = 61) =>
    Array.from({ length: upTo }, (_, i) => heartbeatFailureLevel(i + 1, code, reachedBefore));
  const warnsAt = (code: string | undefined, reachedBefore: boolean) =>
    levels(code, reachedBefore).flatMap((level, i) => (level === 'warn' ? [i + 1] : []));

  it('lets a starting node wait quietly for the first primary, then warns if none comes', () => {
    expect(levels('NO_PRIMARY', false, 3)).toEqual(['info', 'debug', 'debug']);
    expect(warnsAt('NO_PRIMARY', false)).toEqual([10, 30, 60]);
  });

  it('warns at once when a primary it had reached is gone, or on any other failure', () => {
    expect(warnsAt('NO_PRIMARY', true)).toEqual([1, 10, 30, 60]);
    expect(warnsAt('UNAVAILABLE', false)).toEqual([1, 10, 30, 60]);
    expect(warnsAt(undefined, false)).toEqual([1, 10, 30, 60]);
    expect(levels(undefined, true, 3)).toEqual(['warn', 'debug', 'debug']);
  });
});

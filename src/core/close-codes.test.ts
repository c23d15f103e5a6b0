import { describe, expect, it } from 'vitest';
import { CLOSE_CODE_TABLE, DEFAULT_CLOSE_POLICY, OWN_CLOSE_CODES, closeEndsSession, closePolicy } from './close-codes.ts';

describe('close-code table', () => {
  const rows = Object.entries(CLOSE_CODE_TABLE).map(([code, policy]) => [Number(code), policy] as const);

  it.each(rows)('code %i has an action, a name and a reason', (code, policy) => {
    expect(['resume', 'identify', 'fatal']).toContain(policy.action);
    expect(policy.name.length).toBeGreaterThan(0);
    expect(policy.why.length).toBeGreaterThan(0);
    expect(closePolicy(code)).toBe(policy);
  });

  it('treats every documented non-reconnectable Discord code as fatal', () => {
    for (const code of [4004, 4010, 4011, 4012, 4013, 4014]) expect(closePolicy(code).action).toBe('fatal');
  });

  it('starts a new session where Discord says the old one is gone', () => {
    for (const code of [4003, 4005, 4007, 4009]) expect(closePolicy(code).action).toBe('identify');
  });

  it('resumes unlisted codes', () => {
    expect(closePolicy(4999)).toBe(DEFAULT_CLOSE_POLICY);
    expect(closePolicy(3000).action).toBe('resume');
  });

  it('never uses a session-ending code for its own closes', () => {
    for (const code of Object.values(OWN_CLOSE_CODES)) {
      expect(closeEndsSession(code)).toBe(false);
      expect(CLOSE_CODE_TABLE[code]).toBeDefined();
    }
    expect(closeEndsSession(1000)).toBe(true);
    expect(closeEndsSession(1001)).toBe(true);
  });
});

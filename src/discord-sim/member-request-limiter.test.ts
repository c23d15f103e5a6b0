import { describe, expect, it } from 'vitest';
import { asksForAllMembers, MemberRequestLimiter } from './member-request-limiter.ts';

describe('MemberRequestLimiter', () => {
  it('lets one all-members request per guild through each 30 s and says how long to wait', () => {
    const limiter = new MemberRequestLimiter();
    expect(limiter.take('g1', 1_000)).toBeNull();
    expect(limiter.take('g1', 11_000)).toBe(20);
    expect(limiter.take('g2', 11_000)).toBeNull();
    // A refused request does not restart the window.
    expect(limiter.take('g1', 30_999)).toBeCloseTo(0.001);
    expect(limiter.take('g1', 31_000)).toBeNull();
  });

  it('applies to the whole list only', () => {
    expect(asksForAllMembers({ query: '', limit: 0 })).toBe(true);
    expect(asksForAllMembers({})).toBe(true);
    expect(asksForAllMembers({ query: '', limit: 10 })).toBe(false);
    expect(asksForAllMembers({ query: 'ab', limit: 0 })).toBe(false);
    expect(asksForAllMembers({ user_ids: ['1'] })).toBe(false);
  });
});

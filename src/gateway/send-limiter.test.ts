import { describe, expect, it } from 'vitest';
import { SendLimiter } from './send-limiter.ts';

describe('SendLimiter', () => {
  it('grants normalLimit ordinary sends per window and names the wait for the next', () => {
    const limiter = new SendLimiter({ limit: 120, normalLimit: 115, windowMs: 60_000 });
    for (let i = 0; i < 115; i++) expect(limiter.reserve(1_000 + i)).toBe(0);
    // The oldest send (t=1000) frees its slot at 61_000.
    expect(limiter.reserve(2_000)).toBe(59_000);
    expect(limiter.used(2_000)).toBe(115);
    expect(limiter.reserve(61_000)).toBe(0);
    expect(limiter.used(61_000)).toBe(115);
  });

  it('keeps room for priority sends: they are never refused and count against the window', () => {
    const limiter = new SendLimiter({ limit: 120, normalLimit: 115, windowMs: 60_000 });
    for (let i = 0; i < 115; i++) limiter.reserve(0);
    for (let i = 0; i < 5; i++) limiter.recordPriority(10);
    expect(limiter.used(10)).toBe(120);
    // 120 in the window: ordinary sends need six expiries, the first of which is at t=60_000.
    expect(limiter.reserve(30_000)).toBe(30_000);
  });

  it('priority sends shrink the ordinary budget in the same window', () => {
    const limiter = new SendLimiter({ limit: 10, normalLimit: 8, windowMs: 1_000 });
    limiter.recordPriority(0);
    limiter.recordPriority(0);
    for (let i = 0; i < 6; i++) expect(limiter.reserve(100)).toBe(0);
    expect(limiter.reserve(100)).toBe(900);
    expect(limiter.reserve(1_000)).toBe(0);
  });

  it('reset() gives a new connection a fresh budget', () => {
    const limiter = new SendLimiter({ limit: 3, normalLimit: 2, windowMs: 1_000 });
    limiter.reserve(0);
    limiter.reserve(0);
    expect(limiter.reserve(0)).toBeGreaterThan(0);
    limiter.reset();
    expect(limiter.reserve(0)).toBe(0);
  });

  it('rejects an impossible configuration with INVALID_CONFIG', () => {
    expect(() => new SendLimiter({ limit: 5, normalLimit: 6 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => new SendLimiter({ windowMs: 0 })).toThrow(/windowMs/);
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidCounter, invalidThresholds, invalidThrottle } from './invalid-request-budget.ts';

describe('the invalid-request budget', () => {
  it("stops well before Discord's 10,000 and throttles on the way", () => {
    const t = invalidThresholds(10_000, 50);
    expect(t).toEqual({ warnAt: 5_000, throttleAt: 7_000, stopAt: 9_000 });
    expect(invalidThrottle(4_999, t)).toEqual({ level: 'ok', factor: 1 });
    expect(invalidThrottle(5_000, t)).toEqual({ level: 'warn', factor: 1 });
    expect(invalidThrottle(8_000, t)).toEqual({ level: 'throttle', factor: 0.5 });
    expect(invalidThrottle(8_999, t).factor).toBeGreaterThan(0);
    expect(invalidThrottle(9_000, t)).toEqual({ level: 'stop', factor: 0 });
  });

  it('keeps room for a lease interval of a small limit', () => {
    const t = invalidThresholds(100, 10);
    expect(t.stopAt).toBe(80);
    expect(t.throttleAt).toBeLessThan(t.stopAt);
    expect(t.warnAt).toBeLessThanOrEqual(t.throttleAt);
  });

  it('regression: a global limit near the ban limit stopped all REST at the first refused request (stopAt 1)', () => {
    for (const globalLimit of [4_500, 5_000, 100_000]) {
      const t = invalidThresholds(10_000, globalLimit);
      expect(t).toEqual({ warnAt: 3_000, throttleAt: 3_000, stopAt: 5_000 });
      expect(invalidThrottle(1, t)).toEqual({ level: 'ok', factor: 1 });
    }
    // Up to half the limit the room still grows with the global limit.
    expect(invalidThresholds(10_000, 2_000).stopAt).toBe(6_000);
  });

  it('counts over a sliding window of 60 slots', () => {
    const c = new InvalidCounter(60_000);
    c.add(0);
    c.add(30_000, 2);
    expect(c.count(59_999)).toBe(3);
    expect(c.count(61_000)).toBe(2);
    expect(c.count(91_000)).toBe(0);
  });
});

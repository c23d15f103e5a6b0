import { describe, expect, it } from 'vitest';
import { DecisionClock, SendWindow, fairShares } from './rest-budget.ts';

describe('SendWindow', () => {
  it('holds a slot from send until a window after the decision, and counts in-flight slots', () => {
    const w = new SendWindow(1_000);
    expect(w.waitMs(0, 2)).toBe(0);
    const a = w.take(0);
    const b = w.take(10);
    // Both in flight: only an answer can free one.
    expect(w.waitMs(20, 2)).toBe(Number.POSITIVE_INFINITY);
    w.release(a, 300);
    expect(w.waitMs(20, 2)).toBe(1_280);
    expect(w.count(1_299)).toBe(2);
    expect(w.count(1_300)).toBe(1);
    expect(w.waitMs(1_300, 2)).toBe(0);
    expect(w.oldestStart(1_300)).toBe(10);
    w.release(b, 50);
    expect(w.count(1_050)).toBe(0);
    expect(w.oldestStart(1_050)).toBe(1_050);
  });

  it('waits for as many slots as the share is exceeded by, and never with no share', () => {
    const w = new SendWindow(100);
    for (let t = 0; t < 4; t += 1) w.release(w.take(t), t);
    expect(w.waitMs(4, 2)).toBe(98); // two must free: the second ends at 1 + 100
    expect(w.waitMs(4, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('DecisionClock', () => {
  it('without Discord time, the decision is bounded by the answer', () => {
    expect(new DecisionClock().decidedBy(0, 50, null)).toBe(50);
  });

  it('learns the clock offset from quick answers and bounds slow ones by it', () => {
    const clock = new DecisionClock();
    // Discord's clock runs 1000 ms ahead; a quick answer: decided at 10, answered at 12.
    expect(clock.decidedBy(9, 12, 1_010)).toBe(12);
    // A slow answer (stalled on its way back): decided at 110, answered at 400.
    expect(clock.decidedBy(100, 400, 1_110)).toBe(113);
    // Never before the request left.
    expect(clock.decidedBy(500, 520, 1_200)).toBe(500);
  });

  it('forgets bounds older than its memory, so a drift cannot keep a stale one', () => {
    const clock = new DecisionClock(1_000);
    clock.decidedBy(0, 1, 1_000); // bound 999
    // 2 s later the clocks drifted: the offset is now 990; the old bound (999) is gone.
    expect(clock.decidedBy(2_000, 2_050, 3_000)).toBe(2_050);
    expect(clock.decidedBy(2_100, 2_400, 3_100)).toBe(2_151);
  });
});

describe('fairShares', () => {
  const ids = (wanted: number[]) => wanted.map((w, i) => ({ id: `n${i}`, wanted: w }));
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

  it('splits evenly among nodes that all want more than the limit', () => {
    expect([...fairShares(50, ids([100, 100, 100])).values()]).toEqual([17, 17, 16]);
  });

  it('gives small demands what they want and the rest to the big one, max-min fair', () => {
    const shares = fairShares(50, ids([5, 100, 3]));
    expect(Object.fromEntries(shares)).toEqual({ n0: 5, n1: 42, n2: 3 });
  });

  it('keeps a floor for an idle node, spreads half of what nobody wants and keeps the other half free', () => {
    expect(Object.fromEntries(fairShares(50, ids([0, 100])))).toEqual({ n0: 1, n1: 49 });
    expect(Object.fromEntries(fairShares(50, ids([0, 10])))).toEqual({ n0: 11, n1: 19 });
    expect(Object.fromEntries(fairShares(50, ids([0, 10]), 1, 1))).toEqual({ n0: 21, n1: 29 });
  });

  it('never hands out more than the limit, whatever the demands', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 500; round += 1) {
      const limit = Math.floor(random() * 200);
      const demands = ids(Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * 120)));
      const shares = fairShares(limit, demands);
      expect(sum(shares)).toBeLessThanOrEqual(limit);
      for (const v of shares.values()) expect(Number.isInteger(v) && v >= 0).toBe(true);
      // Nobody is below what it wants while another holds more than it (beyond one unit of rounding).
      for (const a of demands) for (const b of demands) {
        if (shares.get(a.id)! < Math.min(Math.ceil(a.wanted), limit) - 1) expect(shares.get(b.id)!).toBeLessThanOrEqual(shares.get(a.id)! + 1 + (limit >= demands.length ? 1 : 0));
      }
    }
  });
});

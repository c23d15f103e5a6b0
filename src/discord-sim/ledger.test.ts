import { describe, expect, it } from 'vitest';
import { Ledger } from './ledger.ts';

function ledgerWith(sessions: Array<[string, number]>, shardId = 0): Ledger {
  let t = 0;
  const ledger = new Ledger(() => ++t);
  for (const [id, count] of sessions) for (let seq = 1; seq <= count; seq += 1) ledger.recordEvent(shardId, id, seq);
  return ledger;
}

const handled = (sessionId: string, seqs: number[]) => seqs.map((seq) => ({ sessionId, seq }));

describe('Ledger', () => {
  it('lists events per shard in session order with their times', () => {
    const ledger = ledgerWith([['a', 2]]);
    ledger.recordEvent(1, 'b', 1);
    expect(ledger.events(0)).toEqual([
      { sessionId: 'a', seq: 1, t: 1 },
      { sessionId: 'a', seq: 2, t: 2 },
    ]);
    expect(ledger.events(1)).toEqual([{ sessionId: 'b', seq: 1, t: 3 }]);
    expect(ledger.eventCount(0)).toBe(2);
  });

  it("names a shard's newest session with its own count, not the shard's total", () => {
    const ledger = ledgerWith([['a', 50], ['b', 3]]);
    expect(ledger.eventCount(0)).toBe(53);
    expect(ledger.latestSession(0)).toEqual({ sessionId: 'b', count: 3 });
    expect(ledger.latestSession(1)).toBeUndefined();
  });

  it('counts a perfect delivery as nothing lost, nothing duplicated', () => {
    const ledger = ledgerWith([['a', 100]]);
    const result = ledger.check(0, handled('a', Array.from({ length: 100 }, (_, i) => i + 1)));
    expect(result).toEqual({ expected: 100, delivered: 100, lost: [], duplicated: [], outOfOrder: 0 });
  });

  it('reports lost and duplicated events exactly', () => {
    const ledger = ledgerWith([['a', 10]]);
    const result = ledger.check(0, handled('a', [1, 2, 3, 3, 5, 6, 7, 7, 7, 9, 10]));
    expect(result.expected).toBe(10);
    expect(result.delivered).toBe(8);
    expect(result.lost.map((e) => e.seq)).toEqual([4, 8]);
    expect(result.duplicated.map((e) => e.seq)).toEqual([3, 7]);
    expect(result.outOfOrder).toBe(0);
  });

  it('counts first deliveries that arrive after a later seq as out of order', () => {
    const ledger = ledgerWith([['a', 5]]);
    expect(ledger.check(0, handled('a', [1, 3, 2, 4, 5])).outOfOrder).toBe(1);
  });

  it('expects sessions from the first handled one on, so a later re-identify that was never handled is loss', () => {
    const ledger = ledgerWith([['old', 5], ['a', 3], ['b', 2]]);
    const result = ledger.check(0, handled('a', [1, 2, 3]));
    expect(result.expected).toBe(5);
    expect(result.lost).toEqual([
      { sessionId: 'b', seq: 1, t: 9 },
      { sessionId: 'b', seq: 2, t: 10 },
    ]);
  });

  it('expects everything when nothing was handled, and ignores handled entries it never generated', () => {
    const ledger = ledgerWith([['a', 3]]);
    expect(ledger.check(0, []).lost).toHaveLength(3);
    expect(ledger.check(0, [...handled('a', [1, 2, 3, 99]), ...handled('zzz', [1])]).lost).toEqual([]);
  });

  it('records transmissions per connection, replays included', () => {
    const ledger = new Ledger(() => 7);
    ledger.recordTransmission(0, 'c1', 'a', 1);
    ledger.recordTransmission(0, 'c1', 'a', 2);
    ledger.recordTransmission(0, 'c2', 'a', 2);
    expect(ledger.transmissions(0)).toEqual([
      { connectionId: 'c1', sessionId: 'a', seq: 1, t: 7 },
      { connectionId: 'c1', sessionId: 'a', seq: 2, t: 7 },
      { connectionId: 'c2', sessionId: 'a', seq: 2, t: 7 },
    ]);
  });

  it('keeps a million events compactly', () => {
    const ledger = new Ledger(() => 0);
    for (let seq = 1; seq <= 1_000_000; seq += 1) ledger.recordEvent(0, 's', seq);
    expect(ledger.eventCount(0)).toBe(1_000_000);
    expect(ledger.check(0, [{ sessionId: 's', seq: 1 }]).lost).toHaveLength(999_999);
  });
});

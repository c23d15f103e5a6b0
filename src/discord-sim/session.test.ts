import { describe, expect, it } from 'vitest';
import { Ledger } from './ledger.ts';
import { Session } from './session.ts';

describe('Session', () => {
  it('sequences from 1, delivers to its sink, and replays from the ring buffer', () => {
    const ledger = new Ledger();
    const session = new Session({ id: 's', shardId: 0, shardCount: 1, intents: 0, replayBufferSize: 4, ledger });
    const sent: number[] = [];
    session.sink = { id: 'c', sendDispatch: (_frame, seq) => sent.push(seq) };
    for (let i = 0; i < 3; i += 1) session.dispatch('X', `{"i":${i}}`);
    session.sink = null;
    for (let i = 3; i < 6; i += 1) session.dispatch('X', `{"i":${i}}`);
    expect(sent).toEqual([1, 2, 3]);
    expect(session.framesAfter(3)?.map((f) => f.seq)).toEqual([4, 5, 6]);
    expect(JSON.parse(session.framesAfter(5)![0]!.frame)).toEqual({ op: 0, t: 'X', s: 6, d: { i: 5 } });
    expect(session.framesAfter(2)?.map((f) => f.seq)).toEqual([3, 4, 5, 6]);
    // seq 2 was overwritten: frames 2..6 no longer all fit in a 4-slot buffer.
    expect(session.framesAfter(1)).toBeNull();
    expect(session.framesAfter(6)).toEqual([]);
    expect(ledger.eventCount(0)).toBe(6);
  });
});

import { describe, expect, it } from 'vitest';
import type { Move } from '../core/placement.ts';
import { pickHandoffs } from './handoff-slots.ts';

const handoff = (shardId: number, from: string, to: string): Move => ({ shardId, from, to, kind: 'handoff' });
const states: Record<string, 'leaving' | 'draining' | 'other'> = { gone: 'leaving', maint: 'draining', busy: 'other' };
const source = (id: string): 'leaving' | 'draining' | 'other' => states[id] ?? 'other';

describe('pickHandoffs', () => {
  it('runs moves off leaving and draining nodes in parallel up to the drain limit, before any rebalance', () => {
    const moves = [handoff(0, 'busy', 'x'), handoff(1, 'gone', 'x'), handoff(2, 'gone', 'y'), handoff(3, 'maint', 'y'), handoff(4, 'gone', 'x')];
    const picked = pickHandoffs(moves, [], source, { rebalance: 1, drain: 3 });
    expect(picked.map((p) => [p.move.shardId, p.reason])).toEqual([[1, 'leave'], [2, 'leave'], [3, 'drain'], [0, 'rebalance']]);
  });

  it('counts the moves already running against their own limit', () => {
    const moves = [handoff(0, 'busy', 'x'), handoff(1, 'gone', 'x'), handoff(2, 'gone', 'y')];
    expect(pickHandoffs(moves, ['leave', 'drain'], source, { rebalance: 1, drain: 3 }).map((p) => p.move.shardId)).toEqual([1, 0]);
    expect(pickHandoffs(moves, ['rebalance', null], source, { rebalance: 1, drain: 3 }).map((p) => p.move.shardId)).toEqual([1, 2]);
    expect(pickHandoffs(moves, [], source, { rebalance: 0, drain: 0 })).toEqual([]);
  });

  it('leaves placements and failovers to the round', () => {
    const moves: Move[] = [{ shardId: 0, from: null, to: 'x', kind: 'place' }, { shardId: 1, from: 'dead', to: 'x', kind: 'failover' }];
    expect(pickHandoffs(moves, [], source, { rebalance: 5, drain: 5 })).toEqual([]);
  });
});

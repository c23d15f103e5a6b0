/**
 * Each of the soak's invariant checkers fed the kind of history a bug leaves behind: each must
 * throw (so a deliberate bug trips the soak), and must let the histories the design allows pass.
 */
import { describe, expect, it } from 'vitest';
import type { ConnectionInfo } from '../../../src/discord-sim/fake-discord.ts';
import { Ledger } from '../../../src/discord-sim/ledger.ts';
import { FaultLog } from '../fault-log.ts';
import { ConnectionCheck } from './connection-check.ts';
import { DeliveryCheck } from './delivery-check.ts';
import { FenceCheck } from './fence-check.ts';
import { IdentifyBudgetCheck } from './identify-budget-check.ts';
import { IdentifyCheck } from './identify-check.ts';
import { OwnershipCheck } from './ownership-check.ts';

/** A ledger with `events` routed events, each sequenced into session `s1` of shard 0 (seq = event number). */
function routed(events: number, clock: { now: number }): Ledger {
  const ledger = new Ledger(() => clock.now);
  for (let n = 1; n <= events; n++) ledger.recordEvent(0, 's1', n, ledger.newEvent('MESSAGE_CREATE'));
  return ledger;
}

const connection = (id: string, shardId: number, sessionId: string | null, extra: Partial<ConnectionInfo> = {}): ConnectionInfo => ({
  id,
  shardId,
  sessionId,
  open: true,
  closing: false,
  compress: null,
  resumed: false,
  ...extra,
});

describe('soak invariants', () => {
  it('delivery: a duplicate without a crash, stall or cut throws; one across a kill is counted', () => {
    const clock = { now: 1_000 };
    const ledger = routed(3, clock);
    const faults = new FaultLog();
    const check = new DeliveryCheck({ ledger, faults, lostAfterMs: 10_000, aftermathMs: 1_000 });
    check.record({ node: 'a', shardId: 0, sessionId: 's1', seq: 1, t: 'MESSAGE_CREATE', at: 1_000 });
    faults.disrupt('a', 'kill', 1_500).end(2_000);
    check.record({ node: 'b', shardId: 0, sessionId: 's1', seq: 1, t: 'MESSAGE_CREATE', at: 2_500 });
    expect(check.duplicated).toBe(1);
    check.record({ node: 'b', shardId: 0, sessionId: 's1', seq: 2, t: 'MESSAGE_CREATE', at: 3_000 });
    expect(() => check.record({ node: 'c', shardId: 0, sessionId: 's1', seq: 2, t: 'MESSAGE_CREATE', at: 3_100 })).toThrow(/delivered twice: .*no crash, stall or cut/);
  });

  it('delivery: an event nobody handled throws once it is old enough, unless the server ended its session', () => {
    const clock = { now: 1_000 };
    const ledger = routed(2, clock);
    const check = new DeliveryCheck({ ledger, faults: new FaultLog(), lostAfterMs: 10_000, aftermathMs: 1_000 });
    check.record({ node: 'a', shardId: 0, sessionId: 's1', seq: 1, t: 'MESSAGE_CREATE', at: 1_000 });
    check.checkLost(5_000);
    expect(() => check.checkLost(20_000)).toThrow(/lost: event #2/);
    const excused = new DeliveryCheck({ ledger, faults: new FaultLog(), lostAfterMs: 10_000, aftermathMs: 1_000 });
    excused.record({ node: 'a', shardId: 0, sessionId: 's1', seq: 1, t: 'MESSAGE_CREATE', at: 1_000 });
    excused.sessionsEnded(['s1']);
    excused.checkLost(20_000, true);
    expect(excused.droppedByDiscord).toBe(1);
  });

  it('connections: two live ones past the overlap bound throw, and so does a shard left unowned past its bound', () => {
    const faults = new FaultLog();
    const check = new ConnectionCheck({ faults, overlapMs: 1_000, unownedMs: 5_000, primaryHeldMs: () => 0, blindUntil: () => null });
    const two = [connection('c1', 0, 'a'), connection('c2', 0, 'b')];
    check.poll(two, 1, 0);
    check.poll(two, 1, 900);
    expect(() => check.poll(two, 1, 1_100)).toThrow(/two live connections: shard 0 has 2/);
    // One of them closing by the server is not live.
    const closing = new ConnectionCheck({ faults, overlapMs: 1_000, unownedMs: 5_000, primaryHeldMs: () => 0, blindUntil: () => null });
    const superseded = [connection('c1', 0, 'a', { closing: true }), connection('c2', 0, 'a', { resumed: true })];
    closing.poll(superseded, 1, 0);
    closing.poll(superseded, 1, 10_000);
    expect(() => closing.poll([], 1, 20_000)).not.toThrow();
    expect(() => closing.poll([], 1, 25_001)).toThrow(/shard unowned: shard 0 has no live gateway connection for 5001 ms/);
  });

  it('connections: a cut from LiteFS lengthens the allowed overlap until it heals, a fault on the primary the allowed gap', () => {
    const check = new ConnectionCheck({ faults: new FaultLog(), overlapMs: 1_000, unownedMs: 5_000, primaryHeldMs: (from, to) => Math.min(3_000, to - from), blindUntil: (from) => (from < 4_000 ? 4_000 : null) });
    const two = [connection('c1', 0, 'a'), connection('c2', 0, 'b')];
    check.poll(two, 1, 0);
    check.poll(two, 1, 4_900);
    expect(() => check.poll(two, 1, 5_100)).toThrow(/two live connections/);
    check.poll([], 1, 10_000);
    check.poll([], 1, 17_900);
    expect(() => check.poll([], 1, 18_100)).toThrow(/shard unowned/);
  });

  it('identify: abandoning a committed, resumable session throws; a first identify and one after the server ended the session pass', () => {
    const faults = new FaultLog();
    const check = new IdentifyCheck({ faults, aftermathMs: 1_000 });
    check.poll([connection('c1', 0, 's1')], 1_000);
    expect(check.planned).toBe(1);
    check.sessionsEnded(['s1'], 1_500);
    check.poll([connection('c2', 0, 's2')], 2_000);
    expect(check.planned).toBe(2);
    check.committed(['s2']);
    expect(() => check.poll([connection('c3', 0, 's3')], 3_000)).toThrow(/unplanned identify: shard 0 identified .* committed session s2/);
  });

  it('identify: abandoning an uncommitted session is allowed only after its node crashed', () => {
    const faults = new FaultLog();
    const check = new IdentifyCheck({ faults, aftermathMs: 1_000 });
    check.identifiedBy('s1', 'a');
    check.poll([connection('c1', 0, 's1')], 1_000);
    expect(() => check.poll([connection('c2', 0, 's2')], 2_000)).toThrow(/neither crashed nor was stalled or cut off/);
    const crashed = new IdentifyCheck({ faults, aftermathMs: 1_000 });
    crashed.identifiedBy('t1', 'b');
    crashed.poll([connection('d1', 1, 't1')], 1_000);
    faults.disrupt('b', 'kill', 1_200);
    crashed.poll([connection('d2', 1, 't2')], 2_000);
    expect(crashed.unplanned).toBe(1);
  });

  it('ownership: an epoch that goes down throws, and a session seq that goes back; a snapshot restore forgets', () => {
    const check = new OwnershipCheck();
    check.observe('a', [{ shardId: 0, generation: 1, epoch: 3, nodeId: 'a' }], [{ shardId: 0, generation: 1, sessionId: 's', seq: 10 }]);
    expect(() => check.observe('a', [{ shardId: 0, generation: 1, epoch: 2, nodeId: 'b' }], [])).toThrow(/epoch went down/);
    expect(() => check.observe('a', [], [{ shardId: 0, generation: 1, sessionId: 's', seq: 9 }])).toThrow(/committed seq went back/);
    check.forget('a');
    check.observe('a', [{ shardId: 0, generation: 1, epoch: 2, nodeId: 'b' }], [{ shardId: 0, generation: 1, sessionId: 's', seq: 9 }]);
  });

  it('fence: a committed transaction that writes a session behind its committed seq throws', () => {
    const check = new FenceCheck();
    const session = (seq: number, sessionId = 's') => ({ kind: 'run' as const, sql: 'INSERT INTO shard_sessions (generation, shard_id, session_id, seq) VALUES (?, ?, ?, ?)', params: [null, 0, sessionId, seq] });
    check.committed('p', [session(10)]);
    check.committed('p', [session(10)]);
    check.committed('p', [session(3, 'new')]);
    expect(() => check.committed('p', [session(2, 'new'), { kind: 'exec' as const, sql: 'select 1' }])).toThrow(/stale write committed: p committed writes of shard 0's session new up to seq 2, behind the 3/);
  });

  it('identify budget: an IDENTIFY without a grant throws, and spending into the reserve', () => {
    const check = new IdentifyBudgetCheck({ total: 100, reserve: 5 });
    check.observe({ 0: 2 }, new Map([[0, 2]]));
    expect(() => check.observe({ 0: 3 }, new Map([[0, 2]]))).toThrow(/identify without a grant: shard 0 started 3/);
    expect(() => check.observe({ 0: 96 }, new Map([[0, 96]]))).toThrow(/overspent/);
  });
});

import { describe, expect, it } from 'vitest';
import { MAX_SHARD_SERIES, chartsOf, niceCeiling, polylinePoints, type MetricsSample } from './chart-model.ts';

const sample = (at: number, seqs: Record<number, number | [string, number]>, owners: Record<number, string>, extra: Partial<MetricsSample> = {}): MetricsSample => ({
  at,
  seqs: new Map(Object.entries(seqs).map(([k, v]) => [Number(k), Array.isArray(v) ? { sessionId: v[0], seq: v[1] } : { sessionId: 's', seq: v }])),
  owners: new Map(Object.entries(owners).map(([k, v]) => [Number(k), v])),
  funnel: null,
  forwarderQueuedRows: null,
  stalenessMs: null,
  ...extra,
});

describe('chartsOf', () => {
  it('turns committed seqs into events/s per shard, summed per node by owner', () => {
    const charts = chartsOf([
      sample(0, { 0: 100, 1: 50 }, { 0: 'a', 1: 'b' }),
      sample(2_000, { 0: 300, 1: 70 }, { 0: 'a', 1: 'b' }),
      sample(4_000, { 0: 500, 1: 90 }, { 0: 'a', 1: 'a' }),
    ]);
    expect(charts.from).toBe(0);
    expect(charts.to).toBe(4_000);
    expect(charts.eventsByShard).toEqual([
      { name: 'shard 0', points: [{ at: 2_000, value: 100 }, { at: 4_000, value: 100 }] },
      { name: 'shard 1', points: [{ at: 2_000, value: 10 }, { at: 4_000, value: 10 }] },
    ]);
    // Shard 1 moved to a at the last sample: b runs nothing then.
    expect(charts.eventsByNode).toEqual([
      { name: 'a', points: [{ at: 2_000, value: 100 }, { at: 4_000, value: 110 }] },
      { name: 'b', points: [{ at: 2_000, value: 10 }] },
    ]);
  });

  it('gives no point across a new session or a seq that went back', () => {
    const charts = chartsOf([sample(0, { 0: ['s1', 900] }, { 0: 'a' }), sample(1_000, { 0: ['s2', 5] }, { 0: 'a' }), sample(2_000, { 0: ['s2', 25] }, { 0: 'a' })]);
    expect(charts.eventsByShard[0]!.points).toEqual([{ at: 2_000, value: 20 }]);
  });

  it('keeps the busiest shards when there are too many to draw', () => {
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [i, 0]));
    const later = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [i, i * 10]));
    const charts = chartsOf([sample(0, many, {}), sample(1_000, later, {})]);
    expect(charts.eventsByShard.map((s) => s.name)).toEqual(Array.from({ length: MAX_SHARD_SERIES }, (_, i) => `shard ${20 - MAX_SHARD_SERIES + i}`));
  });

  it('charts the funnel queue and time per transaction on the primary, the forwarding queue on a replica', () => {
    const funnel = (queuedRows: number, transactions: number, totalFlushMs: number) => ({ funnel: { queuedRows, transactions, totalFlushMs } });
    const primary = chartsOf([sample(0, {}, {}, { ...funnel(10, 5, 100), stalenessMs: 40 }), sample(2_000, {}, {}, { ...funnel(30, 9, 300), stalenessMs: 60 })]);
    expect(primary.isPrimary).toBe(true);
    expect(primary.queue).toEqual({ name: 'funnel queue', points: [{ at: 0, value: 10 }, { at: 2_000, value: 30 }] });
    expect(primary.transactionMs).toEqual({ name: 'ms per transaction', points: [{ at: 2_000, value: 50 }] });
    expect(primary.staleness!.points.map((p) => p.value)).toEqual([40, 60]);
    const replica = chartsOf([sample(0, {}, {}, { forwarderQueuedRows: 3 }), sample(2_000, {}, {}, { forwarderQueuedRows: 0 })]);
    expect(replica.isPrimary).toBe(false);
    expect(replica.queue).toEqual({ name: 'to forward', points: [{ at: 0, value: 3 }, { at: 2_000, value: 0 }] });
    expect(replica.transactionMs).toBeNull();
    expect(chartsOf([]).eventsByNode).toEqual([]);
  });
});

describe('axes', () => {
  it.each([
    [0, 1],
    [0.3, 0.5],
    [7, 10],
    [120, 200],
    [4_999, 5_000],
    [5_001, 10_000],
  ])('niceCeiling(%s) = %s', (max, top) => expect(niceCeiling(max)).toBe(top));

  it('maps time to x and value to y (0 at the bottom), clipping at the top', () => {
    const box = { width: 100, height: 50, from: 1_000, to: 3_000, top: 10 };
    expect(polylinePoints([{ at: 1_000, value: 0 }, { at: 2_000, value: 5 }, { at: 3_000, value: 40 }], box)).toBe('0.0,50.0 50.0,25.0 100.0,0.0');
  });
});

/**
 * The dashboard's charts as numbers: time series derived from the samples a node keeps of
 * itself and of the replicated tables (src/host/metrics-history.ts). Pure, so the arithmetic
 * is tested without a page.
 */

/** One look at the node, every few seconds. */
export interface MetricsSample {
  readonly at: number;
  /** Committed seq of every shard (from the replicated shard_sessions: the whole cluster's, on any node). */
  readonly seqs: ReadonlyMap<number, { readonly sessionId: string; readonly seq: number }>;
  /** Which node runs each shard (the replicated assignments). */
  readonly owners: ReadonlyMap<number, string>;
  /** The write funnel, on the primary only: rows waiting, and totals of transactions and their time. */
  readonly funnel: { readonly queuedRows: number; readonly transactions: number; readonly totalFlushMs: number } | null;
  /** Writes this node has waiting to be forwarded to the primary (a replica's own queue). */
  readonly forwarderQueuedRows: number | null;
  /** Now minus the newest commit this node can read: how far its copy trails the primary. */
  readonly stalenessMs: number | null;
}

export interface Point {
  readonly at: number;
  readonly value: number;
}

export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
}

export interface ChartsModel {
  readonly from: number;
  readonly to: number;
  readonly eventsByNode: readonly Series[];
  readonly eventsByShard: readonly Series[];
  /** Rows queued in the funnel (primary) or waiting to be forwarded (replica). */
  readonly queue: Series | null;
  /** Average ms per funnel transaction between two samples (primary only). */
  readonly transactionMs: Series | null;
  readonly staleness: Series | null;
  readonly isPrimary: boolean;
}

/** More shards than this are drawn as the busiest ones only (a chart of 64 lines says nothing). */
export const MAX_SHARD_SERIES = 8;

/**
 * Events/s per shard between consecutive samples (committed seqs: each dispatch is one seq),
 * summed per node by who ran the shard at the later sample. A seq that went back or a new
 * session id (a fresh IDENTIFY) gives no point for that interval.
 */
export function chartsOf(samples: readonly MetricsSample[]): ChartsModel {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const byShard = new Map<number, Point[]>();
  const byNode = new Map<string, Point[]>();
  const transactionMs: Point[] = [];
  for (let i = 1; i < samples.length; i++) {
    const prev = samples[i - 1]!;
    const cur = samples[i]!;
    const seconds = (cur.at - prev.at) / 1000;
    if (!(seconds > 0)) continue;
    const nodeRates = new Map<string, number>();
    for (const [shardId, now] of cur.seqs) {
      const before = prev.seqs.get(shardId);
      if (!before || before.sessionId !== now.sessionId || now.seq < before.seq) continue;
      const rate = (now.seq - before.seq) / seconds;
      push(byShard, shardId, { at: cur.at, value: rate });
      const owner = cur.owners.get(shardId);
      if (owner !== undefined) nodeRates.set(owner, (nodeRates.get(owner) ?? 0) + rate);
    }
    for (const node of new Set([...cur.owners.values()])) push(byNode, node, { at: cur.at, value: nodeRates.get(node) ?? 0 });
    if (prev.funnel && cur.funnel && cur.funnel.transactions > prev.funnel.transactions) {
      transactionMs.push({ at: cur.at, value: (cur.funnel.totalFlushMs - prev.funnel.totalFlushMs) / (cur.funnel.transactions - prev.funnel.transactions) });
    }
  }
  const total = (points: readonly Point[]): number => points.reduce((sum, p) => sum + p.value, 0);
  const shards = [...byShard]
    .sort((a, b) => total(b[1]) - total(a[1]) || a[0] - b[0])
    .slice(0, MAX_SHARD_SERIES)
    .sort((a, b) => a[0] - b[0])
    .map(([shardId, points]) => ({ name: `shard ${shardId}`, points }));
  const isPrimary = last?.funnel != null;
  const queuePoints = samples.flatMap((s) => {
    const rows = s.funnel ? s.funnel.queuedRows : s.forwarderQueuedRows;
    return rows === null ? [] : [{ at: s.at, value: rows }];
  });
  const stalePoints = samples.flatMap((s) => (s.stalenessMs === null ? [] : [{ at: s.at, value: s.stalenessMs }]));
  return {
    from: first?.at ?? 0,
    to: last?.at ?? 0,
    eventsByNode: [...byNode].sort((a, b) => a[0].localeCompare(b[0])).map(([name, points]) => ({ name, points })),
    eventsByShard: shards,
    queue: queuePoints.length > 0 ? { name: isPrimary ? 'funnel queue' : 'to forward', points: queuePoints } : null,
    transactionMs: isPrimary ? { name: 'ms per transaction', points: transactionMs } : null,
    staleness: stalePoints.length > 0 ? { name: 'staleness', points: stalePoints } : null,
    isPrimary,
  };
}

function push<K>(map: Map<K, Point[]>, key: K, point: Point): void {
  const list = map.get(key);
  if (list) list.push(point);
  else map.set(key, [point]);
}

/** A "nice" top for a y axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceCeiling(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

/** SVG polyline points for a series in a box of width x height, time from..to, values 0..top. */
export function polylinePoints(points: readonly Point[], box: { width: number; height: number; from: number; to: number; top: number }): string {
  const span = Math.max(1, box.to - box.from);
  return points
    .map((p) => {
      const x = ((p.at - box.from) / span) * box.width;
      const y = box.height - (Math.min(p.value, box.top) / box.top) * box.height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

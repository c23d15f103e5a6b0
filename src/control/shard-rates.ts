/** One shard's counters as a status snapshot carries them. */
export interface ShardSample {
  readonly shardId: number;
  readonly events: number;
  readonly readySince: number | null;
}

export interface ShardRate {
  /** Since READY or RESUMED on this node; null while the shard is not connected. */
  readonly sessionAgeMs: number | null;
  /** Events per second over the last few seconds of status calls; null until two samples exist. */
  readonly eventsPerSecond: number | null;
}

const WINDOW_MS = 10_000;
const MIN_SPAN_MS = 200;

/**
 * Events/s from successive status snapshots: runners keep totals, so the rate is the
 * difference between the oldest sample in a short window and now. One tracker per app.
 */
export class ShardRateTracker {
  readonly #samples = new Map<number, { at: number; events: number }[]>();

  observe(shards: readonly ShardSample[], now: number): Map<number, ShardRate> {
    const result = new Map<number, ShardRate>();
    const seen = new Set<number>();
    for (const shard of shards) {
      seen.add(shard.shardId);
      let list = this.#samples.get(shard.shardId) ?? [];
      // A smaller total means a new runner (the shard came back): start over.
      if (list.length > 0 && shard.events < list[list.length - 1]!.events) list = [];
      while (list.length > 1 && now - list[1]!.at >= WINDOW_MS) list.shift();
      const oldest = list[0];
      const span = oldest ? now - oldest.at : 0;
      const eventsPerSecond = oldest && span >= MIN_SPAN_MS ? round((shard.events - oldest.events) / (span / 1000)) : null;
      list.push({ at: now, events: shard.events });
      this.#samples.set(shard.shardId, list);
      result.set(shard.shardId, { sessionAgeMs: shard.readySince === null ? null : Math.max(0, now - shard.readySince), eventsPerSecond });
    }
    for (const id of [...this.#samples.keys()]) if (!seen.has(id)) this.#samples.delete(id);
    return result;
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Adds sessionAgeMs and eventsPerSecond to each entry of `status.shards` when it has that shape. */
export function withShardRates(status: unknown, tracker: ShardRateTracker, now: number): unknown {
  if (typeof status !== 'object' || status === null) return status;
  const shards = (status as { shards?: unknown }).shards;
  if (!Array.isArray(shards) || !shards.every(isSample)) return status;
  const rates = tracker.observe(shards, now);
  return { ...status, shards: shards.map((s) => ({ ...s, ...rates.get(s.shardId) })) };
}

function isSample(value: unknown): value is ShardSample & Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['shardId'] === 'number' && typeof v['events'] === 'number' && (v['readySince'] === null || typeof v['readySince'] === 'number');
}

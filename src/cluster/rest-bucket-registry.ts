import type { BucketNotice, BucketReport } from './rest-budget-protocol.ts';

/** A bucket nobody reported for this long is forgotten (its contenders went quiet). */
export const BUCKET_MEMORY_MS = 60_000;
/** At most this many notices go back with each lease. */
export const MAX_NOTICES = 200;

interface Entry {
  route: string;
  hash: string;
  major: string;
  limit: number;
  blockedUntil: number;
  readonly reporters: Map<string, number>;
  lastAt: number;
}

/**
 * The primary's view of the per-route buckets nodes found spent: who spent which (a bucket
 * spent from two nodes is contended and gets split), and until when it is empty (so the
 * others wait instead of collecting the same 429).
 */
export class RestBucketRegistry {
  readonly #entries = new Map<string, Entry>();

  report(nodeId: string, reports: readonly BucketReport[], now: number): void {
    for (const r of reports) {
      const key = `${r.hash}:${r.major}`;
      let entry = this.#entries.get(key);
      if (!entry) {
        entry = { route: r.route, hash: r.hash, major: r.major, limit: r.limit, blockedUntil: 0, reporters: new Map(), lastAt: now };
        this.#entries.set(key, entry);
      }
      entry.route = r.route;
      if (r.limit > 0) entry.limit = r.limit;
      entry.reporters.set(nodeId, now);
      entry.lastAt = now;
      entry.blockedUntil = Math.max(entry.blockedUntil, now + r.blockedForMs);
    }
  }

  /** What one node should know: buckets others block now, and contended buckets it spends too. */
  notices(nodeId: string, now: number): BucketNotice[] {
    const out: BucketNotice[] = [];
    for (const [key, entry] of this.#entries) {
      if (now - entry.lastAt > BUCKET_MEMORY_MS) {
        this.#entries.delete(key);
        continue;
      }
      for (const [id, at] of entry.reporters) if (now - at > BUCKET_MEMORY_MS) entry.reporters.delete(id);
      const contenders = [...entry.reporters.keys()].sort();
      const blockedForMs = Math.max(0, entry.blockedUntil - now);
      const othersBlock = blockedForMs > 0 && contenders.some((id) => id !== nodeId);
      if (!othersBlock && !(contenders.length >= 2 && entry.reporters.has(nodeId))) continue;
      out.push({ route: entry.route, hash: entry.hash, major: entry.major, limit: entry.limit, blockedForMs, contenders });
    }
    out.sort((a, b) => b.blockedForMs - a.blockedForMs);
    return out.slice(0, MAX_NOTICES);
  }

  get size(): number {
    return this.#entries.size;
  }
}

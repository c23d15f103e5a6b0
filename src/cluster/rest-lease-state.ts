import type { LeaseGrant } from './rest-budget-protocol.ts';

export type ShareSource = 'lease' | 'fallback' | 'stopped' | 'demoted' | 'waiting-for-first-lease';

/**
 * What a node may spend of the global limit, from its last grant and what it knows of the
 * primary that made it: the share while the lease lasts; then the fallback the primary named
 * (the limit divided by the nodes), by one less once that primary lost the lease, since a
 * primary that loses the lease spends nothing until the next one grants it a share; nothing
 * once `fallbackMs` passed without a grant (a primary may have given this node's share away);
 * and nothing for a node that granted itself as primary and lost the lease. Pure: time is passed in.
 */
export class RestLeaseState {
  readonly #nodeId: string;
  readonly #fallbackMs: number;
  #grant: LeaseGrant | null = null;
  /** Local time the request that got the grant was sent. */
  #askedAt = 0;
  #former: { id: string; at: number } | null = null;
  #demoted = false;
  #shareLog: { at: number; share: number }[] = [];

  constructor(nodeId: string, fallbackMs: number) {
    this.#nodeId = nodeId;
    this.#fallbackMs = fallbackMs;
  }

  get grant(): LeaseGrant | null {
    return this.#grant;
  }

  get askedAt(): number {
    return this.#askedAt;
  }

  /** The primary of the last grant, since it lost the lease (or its port refused us). */
  get formerPrimary(): string | null {
    return this.#former?.id ?? null;
  }

  /** The primary the last grant came from, unless it is this node: a new primary here counts it as former. */
  get lastPrimary(): string | null {
    const id = this.#former?.id ?? this.#grant?.primary ?? null;
    return id === this.#nodeId ? null : id;
  }

  apply(grant: LeaseGrant, askedAt: number): void {
    this.#grant = grant;
    this.#askedAt = askedAt;
    this.#former = null;
    this.#demoted = false;
  }

  /** LiteFS names `current` the primary now: returns what changed, for the log. */
  observeLeadership(current: string | null, now: number): 'demoted' | 'lost' | null {
    const granting = this.#grant?.primary;
    if (granting === undefined || current === granting) return null;
    if (granting === this.#nodeId) {
      this.#grant = null;
      this.#demoted = true;
      return 'demoted';
    }
    return this.lost(granting, now) ? 'lost' : null;
  }

  /** The granting primary lost the lease (or its process is gone); true the first time. */
  lost(primary: string, now: number): boolean {
    if (this.#former?.id === primary || this.#grant?.primary !== primary) return false;
    this.#former = { id: primary, at: now };
    return true;
  }

  shareNow(now: number): { share: number; source: ShareSource } {
    const grant = this.#grant;
    if (!grant) return { share: 0, source: this.#demoted ? 'demoted' : 'waiting-for-first-lease' };
    if (now < this.#askedAt + grant.ttlMs) return { share: grant.share, source: 'lease' };
    if (now >= this.#askedAt + this.#fallbackMs) return { share: 0, source: 'stopped' };
    const former = this.#former;
    // Every lease the former primary granted has ended one ttl after it lost the lease; then its part is free.
    if (former && former.id === grant.primary && now >= former.at + grant.ttlMs) {
      return { share: Math.floor(grant.limit / Math.max(1, grant.nodes - 1)), source: 'fallback' };
    }
    return { share: grant.fallbackShare, source: 'fallback' };
  }

  /** The share now, remembered for windowMax(). */
  enforced(now: number): number {
    const share = this.shareNow(now).share;
    const last = this.#shareLog[this.#shareLog.length - 1];
    if (!last || last.share !== share) this.#shareLog.push({ at: now, share });
    return share;
  }

  /** The largest share in force since `from` (when the oldest slot still held was taken): the primary counts it until then. */
  windowMax(from: number, current: number): number {
    let max = current;
    let keepFrom = 0;
    for (let i = 0; i < this.#shareLog.length; i += 1) {
      const next = this.#shareLog[i + 1];
      // An entry counts while it was in force at some moment since `from`.
      if (next && next.at <= from) {
        keepFrom = i + 1;
        continue;
      }
      max = Math.max(max, this.#shareLog[i]!.share);
    }
    if (keepFrom > 0) this.#shareLog = this.#shareLog.slice(keepFrom);
    return max;
  }
}

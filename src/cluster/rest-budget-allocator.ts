import { fairShares } from '../core/rest-budget.ts';
import { RestBucketRegistry } from './rest-bucket-registry.ts';
import type { LeaseGrant, LeaseRequest } from './rest-budget-protocol.ts';

export interface RestBudgetTiming {
  /** The token's global limit, requests per second (Discord's is 50 for most bots). */
  readonly limit: number;
  /** How long a share is good for after the node asked; nodes ask every heartbeat interval. */
  readonly ttlMs: number;
  /** The sliding window every node spends its share over (a second plus a margin). */
  readonly windowMs: number;
  /** A node that got no grant for this long stops spending (and the primary reclaims its share). */
  readonly fallbackMs: number;
  readonly invalidLimit: number;
  readonly invalidWindowMs: number;
}

export interface RestBudgetAllocatorOptions extends RestBudgetTiming {
  readonly nodeId: string;
  /** Nodes the replicated nodes table lists, with their last heartbeat (old primary's clock). */
  readonly knownNodes: readonly { readonly id: string; readonly lastHeartbeatAt: number }[];
  /** The primary before this one, if this node knows it: it spends nothing once it lost the lease. */
  readonly formerPrimary?: string | null;
  readonly now: number;
}

interface NodeBudget {
  readonly id: string;
  /** Null: listed in the nodes table but not heard from since this primary started. */
  lastHeard: number | null;
  demand: number;
  holding: number;
  windowMax: number;
  grant: number;
  /** The fallback share this primary told it (what it spends once its lease ends). */
  fallback: number;
  invalid: number;
  sent: number;
  /** Requests per second between its last two reports. */
  sentPerSec: number;
  rateLimited: LeaseRequest['rateLimited'];
  /** Its last lease wanted more than an even split (see lease()). */
  wantedMore: boolean;
}

export interface RestBudgetNodeView {
  readonly id: string;
  readonly share: number;
  /** What the primary counts the node as possibly spending now (leases and fallbacks not yet over). */
  readonly committed: number;
  readonly demand: number;
  readonly heardAgoMs: number | null;
  readonly invalid: number;
  readonly sent: number;
  readonly sentPerSec: number;
  readonly rateLimited: LeaseRequest['rateLimited'];
}

export interface RestBudgetSnapshot {
  readonly primary: string;
  readonly limit: number;
  readonly committed: number;
  readonly nodes: readonly RestBudgetNodeView[];
  readonly invalid: { readonly count: number; readonly limit: number; readonly windowMs: number };
  readonly buckets: number;
}

const ZERO_LIMITED = { global: 0, user: 0, shared: 0, sublimit: 0 };

/**
 * The primary's side of the cluster's REST budget (contract 12). Each node's lease request
 * says what it spends and wants; the answer is its share, max-min fair by demand. Shares only
 * ever grow out of budget nobody can still be spending: a node whose share shrank counts at its
 * old share until it reports the smaller one applied a window ago; a node that went silent
 * counts at its lease, then at its fallback, until it must have stopped; a node this primary
 * never heard from (it just took over) counts at worst until the same deadlines pass.
 */
export class RestBudgetAllocator {
  readonly #o: RestBudgetAllocatorOptions;
  readonly #startedAt: number;
  readonly #nodes = new Map<string, NodeBudget>();
  /** Primaries that lost the lease: unheard, they spend nothing once their last requests aged out. */
  readonly #former = new Set<string>();
  readonly #buckets = new RestBucketRegistry();
  /** Each node's last reported invalid count; kept past the node itself, as Discord keeps counting it. */
  readonly #invalid = new Map<string, { count: number; at: number }>();

  constructor(options: RestBudgetAllocatorOptions) {
    this.#o = options;
    this.#startedAt = options.now;
    if (options.formerPrimary && options.formerPrimary !== options.nodeId) this.#former.add(options.formerPrimary);
    const horizon = Math.max(options.ttlMs, options.fallbackMs) + options.windowMs;
    for (const row of options.knownNodes) {
      // A node silent for longer than the fallback deadline before this primary started has stopped spending.
      if (options.now - row.lastHeartbeatAt > horizon) continue;
      this.#nodes.set(row.id, this.#fresh(row.id));
    }
    if (options.formerPrimary && !this.#nodes.has(options.formerPrimary) && options.formerPrimary !== options.nodeId) {
      this.#nodes.set(options.formerPrimary, this.#fresh(options.formerPrimary));
    }
  }

  /** A node's lease request; answers its share (and what the cluster knows that it should). */
  lease(request: LeaseRequest, now: number): LeaseGrant {
    const o = this.#o;
    const former = request.formerPrimary;
    if (former !== null && former !== o.nodeId && former !== request.nodeId && this.#nodes.get(former)?.lastHeard == null) this.#former.add(former);
    const node = this.#nodes.get(request.nodeId) ?? this.#fresh(request.nodeId);
    this.#nodes.set(request.nodeId, node);
    if (node.lastHeard !== null && now > node.lastHeard && request.sent >= node.sent) node.sentPerSec = ((request.sent - node.sent) * 1000) / (now - node.lastHeard);
    node.lastHeard = now;
    node.demand = request.demand;
    node.holding = request.holding;
    node.windowMax = request.windowMax;
    node.invalid = request.invalid;
    this.#invalid.set(request.nodeId, { count: request.invalid, at: now });
    node.sent = request.sent;
    node.rateLimited = request.rateLimited;
    this.#buckets.report(request.nodeId, request.buckets, now);

    // Who shares by demand (heard within a lease), and what the others may still spend.
    const active: NodeBudget[] = [];
    let reserved = 0;
    for (const [id, n] of this.#nodes) {
      const committed = this.#committed(n, now);
      if (n.lastHeard !== null && now - n.lastHeard < o.ttlMs) active.push(n);
      else if (committed > 0) reserved += committed;
      else if (id !== request.nodeId) this.#nodes.delete(id);
    }
    const windowSeconds = o.windowMs / 1000;
    const targets = fairShares(
      Math.max(0, o.limit - reserved),
      active.map((n) => ({ id: n.id, wanted: n.demand * windowSeconds * 1.2 + 1 })),
      1,
      // Budget nobody wants is kept half free for another node's growth; a node alone holds it all, as @discordjs/rest alone would.
      this.#nodes.size <= 1 ? 1 : 0.5,
    );
    let target = targets.get(node.id) ?? 0;
    // Past an even split only at the second lease in a row that wants it: by then every other
    // node has reported its own demand since. The first node to report a burst would otherwise
    // take the room of nodes that want as much but asked later, and give it back only a window
    // after its next lease, while they wait (a cluster-wide burst lost 7% of the limit so).
    const even = Math.floor(Math.max(0, o.limit - reserved) / Math.max(1, active.length));
    const wantsMore = target > even;
    if (wantsMore && !node.wantedMore) target = Math.max(even, Math.min(target, node.grant));
    node.wantedMore = wantsMore;
    let share = target;
    const current = Math.max(node.holding, node.windowMax);
    if (this.#uncertain(now)) {
      // Some node's lease from the last primary is unknown: everyone keeps what it spent lately
      // (the last primary kept the sum within the limit, and a node's recent share only shrinks
      // without it), nobody grows until all are heard or those leases ended.
      share = current;
    } else if (target > current) {
      // Growth comes only out of budget no other node can be spending now.
      let others = 0;
      for (const n of this.#nodes.values()) if (n !== node) others += this.#committed(n, now);
      share = Math.min(target, Math.max(node.holding, o.limit - others));
    }
    const live = this.#nodes.size;
    node.grant = share;
    node.fallback = Math.floor(o.limit / Math.max(1, live));
    const shares: Record<string, number> = {};
    for (const n of this.#nodes.values()) shares[n.id] = n.lastHeard === null ? 0 : n.grant;
    return {
      primary: o.nodeId,
      limit: o.limit,
      share,
      ttlMs: o.ttlMs,
      fallbackShare: node.fallback,
      nodes: live,
      shares,
      invalid: { count: this.#invalidCount(now), limit: o.invalidLimit, windowMs: o.invalidWindowMs },
      buckets: this.#buckets.notices(node.id, now),
    };
  }

  snapshot(now: number): RestBudgetSnapshot {
    const nodes: RestBudgetNodeView[] = [];
    let committed = 0;
    for (const n of this.#nodes.values()) {
      const c = this.#committed(n, now);
      committed += c;
      nodes.push({ id: n.id, share: n.grant, committed: c, demand: n.demand, heardAgoMs: n.lastHeard === null ? null : now - n.lastHeard, invalid: n.invalid, sent: n.sent, sentPerSec: n.sentPerSec, rateLimited: n.rateLimited });
    }
    nodes.sort((a, b) => (a.id < b.id ? -1 : 1));
    return {
      primary: this.#o.nodeId,
      limit: this.#o.limit,
      committed,
      nodes,
      invalid: { count: this.#invalidCount(now), limit: this.#o.invalidLimit, windowMs: this.#o.invalidWindowMs },
      buckets: this.#buckets.size,
    };
  }

  /** The most a node may be spending per window now, as far as this primary can know. */
  #committed(n: NodeBudget, now: number): number {
    const o = this.#o;
    // Once its lease ends, a silent node may spend its fallback: the limit divided by the nodes,
    // by one less if it saw its primary lose the lease.
    const fallback = Math.floor(o.limit / Math.max(1, this.#nodes.size - 1));
    if (n.lastHeard === null) {
      // Never heard since this primary started: its old lease is unknown until it must have ended.
      if (now < this.#startedAt + o.ttlMs + o.windowMs) return o.limit;
      // A former primary stopped spending when it lost the lease; another node spends its fallback until it stops.
      if (this.#former.has(n.id)) return 0;
      if (now < this.#startedAt + o.fallbackMs + o.ttlMs + o.windowMs) return fallback;
      return 0;
    }
    const silent = now - n.lastHeard;
    const leased = Math.max(n.holding, n.windowMax, n.grant);
    if (silent < o.ttlMs) return leased;
    if (silent < o.ttlMs + o.windowMs) return Math.max(leased, fallback);
    if (silent < Math.max(o.ttlMs, o.fallbackMs) + o.windowMs) return fallback;
    return 0;
  }

  #uncertain(now: number): boolean {
    if (now >= this.#startedAt + this.#o.ttlMs + this.#o.windowMs) return false;
    for (const n of this.#nodes.values()) if (n.lastHeard === null) return true;
    return false;
  }

  /** What this primary told the node to spend once its lease ends (the limit divided by the nodes). */

  /** Invalid answers within the window, summed over nodes (each node's count ages out on its side). */
  #invalidCount(now: number): number {
    let sum = 0;
    for (const [id, entry] of this.#invalid) {
      if (now - entry.at >= this.#o.invalidWindowMs) this.#invalid.delete(id);
      else sum += entry.count;
    }
    return sum;
  }

  #fresh(id: string): NodeBudget {
    return { id, lastHeard: null, demand: 0, holding: 0, windowMax: 0, grant: 0, fallback: 0, invalid: 0, sent: 0, sentPerSec: 0, rateLimited: { ...ZERO_LIMITED }, wantedMore: false };
  }
}

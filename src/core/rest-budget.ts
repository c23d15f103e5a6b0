/**
 * The pure policy of the cluster's one REST budget (contract 12): how a node spends its share
 * of the global limit, and how the primary divides the limit by demand. The protocol around it
 * (leases, fallback, failover) is src/cluster/rest-budget-allocator.ts and rest-budget-client.ts.
 */

/** Discord's global limit counts requests per second. */
export const GLOBAL_WINDOW_MS = 1_000;

/** One request's place in a node's window: held from when it leaves until a window after its answer. */
export interface SendSlot {
  /** When the request left. */
  readonly start: number;
  /** When the slot frees: null while the request is in flight. */
  end: number | null;
}

/**
 * A node's sends, held to at most `share` in any window. Discord counts a request when it
 * arrives, which is some time between when it left and when its answer came back; so a slot is
 * held from the moment the request leaves until `windowMs` after its answer. Then however the
 * network or a busy event loop delays requests, the requests of one node that Discord sees
 * within any second number at most its share, and those of the cluster at most the sum of the
 * shares. The price is one round trip per window of each slot.
 */
export class SendWindow {
  readonly windowMs: number;
  #slots: SendSlot[] = [];

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** Takes a slot now (the caller checked `waitMs` first). */
  take(now: number): SendSlot {
    const slot: SendSlot = { start: now, end: null };
    this.#slots.push(slot);
    return slot;
  }

  /** Discord decided the request by `decidedBy` (its answer, or sooner as DecisionClock shows): its slot frees a window later. */
  release(slot: SendSlot, decidedBy: number): void {
    if (slot.end === null) slot.end = decidedBy + this.windowMs;
  }

  /** Slots held now (in flight, or answered within the last window). */
  count(now: number): number {
    this.#trim(now);
    return this.#slots.length;
  }

  /** When the oldest slot still held was taken (now when none is). */
  oldestStart(now: number): number {
    this.#trim(now);
    let oldest = now;
    for (const s of this.#slots) oldest = Math.min(oldest, s.start);
    return oldest;
  }

  /** 0 when one more send fits under `share` now; Infinity when only an answer can free a slot; else how long until one frees. */
  waitMs(now: number, share: number): number {
    if (share <= 0) return Number.POSITIVE_INFINITY;
    const count = this.count(now);
    if (count < share) return 0;
    // `count - share + 1` slots must free; the earliest that many ends are known is the wait.
    const ends = this.#slots.filter((s) => s.end !== null).map((s) => s.end!).sort((a, b) => a - b);
    const needed = count - share + 1;
    if (ends.length < needed) return Number.POSITIVE_INFINITY;
    return Math.max(1, ends[needed - 1]! - now);
  }

  #trim(now: number): void {
    if (this.#slots.some((s) => s.end !== null && s.end <= now)) this.#slots = this.#slots.filter((s) => s.end === null || s.end > now);
  }
}

/**
 * Bounds when Discord decided a request, from its answer: X-RateLimit-Reset minus
 * X-RateLimit-Reset-After is Discord's clock at that moment. Its offset from ours is unknown,
 * but every answer bounds it from below (Discord's clock then minus our clock at the answer),
 * so the decision happened no later than Discord's time minus the largest such bound seen
 * lately. A slot freed from there rather than from the answer gives back the return trip.
 */
export class DecisionClock {
  readonly #samples: { at: number; bound: number }[] = [];
  readonly #memoryMs: number;

  /** Bounds older than `memoryMs` are dropped, so a drifting clock cannot leave one that became too high. */
  constructor(memoryMs = 10_000) {
    this.#memoryMs = memoryMs;
  }

  /** The latest moment (our clock) Discord can have decided a request that left at `sentAt`, answered at `answeredAt`. */
  decidedBy(sentAt: number, answeredAt: number, serverTime: number | null): number {
    if (serverTime === null || !Number.isFinite(serverTime)) return answeredAt;
    const bound = serverTime - answeredAt;
    // A sliding maximum: bounds decrease from the front, so a newer, higher one retires the lower ones before it.
    const samples = this.#samples;
    while (samples.length > 0 && samples[samples.length - 1]!.bound <= bound) samples.pop();
    samples.push({ at: answeredAt, bound });
    while (samples[0]!.at <= answeredAt - this.#memoryMs) samples.shift();
    const best = samples[0]!.bound;
    // The header's milliseconds are rounded: one more keeps the bound on the safe side.
    return Math.max(sentAt, Math.min(answeredAt, serverTime - best + 1));
  }
}

export interface NodeDemand {
  readonly id: string;
  /** Requests per window the node would send now if nothing held it back. */
  readonly wanted: number;
}

/**
 * Divides `limit` requests per window among nodes, max-min fair by demand: nobody gets more
 * than it wants while another wants more than it has; every node keeps `floor` (so a rare
 * request goes out at once). Of what nobody wants, `spread` is handed out evenly (a node whose
 * demand grows has room before its next lease) and the rest stays free (a node whose demand
 * grows gets it at its next lease, without waiting for another node to give some back).
 * Integers summing to at most `limit`, deterministic (ties go in id order).
 */
export function fairShares(limit: number, demands: readonly NodeDemand[], floor = 1, spread = 0.5): Map<string, number> {
  const out = new Map<string, number>();
  const nodes = [...demands].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (nodes.length === 0 || limit <= 0) {
    for (const n of nodes) out.set(n.id, 0);
    return out;
  }
  const base = limit >= nodes.length ? floor : 0;
  const cap = new Map(nodes.map((n) => [n.id, Math.max(base, Math.ceil(Math.max(0, n.wanted)))]));
  // Water-filling on fractions, smallest caps first.
  const byCap = [...nodes].sort((a, b) => cap.get(a.id)! - cap.get(b.id)!);
  const exact = new Map<string, number>();
  let remaining = limit;
  for (let i = 0; i < byCap.length; i += 1) {
    const level = remaining / (byCap.length - i);
    const give = Math.min(cap.get(byCap[i]!.id)!, level);
    exact.set(byCap[i]!.id, give);
    remaining -= give;
  }
  let left = limit;
  for (const n of nodes) {
    const whole = Math.floor(exact.get(n.id)! + 1e-9);
    out.set(n.id, whole);
    left -= whole;
  }
  // Whole units the fractions add up to go to the largest fractions still below their cap;
  // fractions are compared rounded, so floating-point noise cannot move a unit from node to node
  // between two leases (each such move costs a window before the unit can be used again).
  const fractions = nodes
    .map((n) => ({ id: n.id, frac: Math.round((exact.get(n.id)! - out.get(n.id)!) * 1e6) }))
    .filter((f) => f.frac > 0 && out.get(f.id)! < cap.get(f.id)!)
    .sort((a, b) => b.frac - a.frac);
  for (const f of fractions) {
    if (left <= 0) break;
    out.set(f.id, out.get(f.id)! + 1);
    left -= 1;
  }
  let spare = Math.floor(left * spread);
  for (let i = 0; spare > 0; i = (i + 1) % nodes.length, spare -= 1) out.set(nodes[i]!.id, out.get(nodes[i]!.id)! + 1);
  return out;
}

/**
 * Contract 9 and failover's bound, seen from the simulated Discord, polled every few ms:
 *
 * - Overlap: two live gateway connections (open, not being closed by the server, holding a
 *   session) for one shard. The design's overlap window: a RESUME elsewhere supersedes the old
 *   connection at once, and a node that stalls loses its connections to Discord's heartbeat
 *   timeout (1.5 heartbeat intervals); so at most `overlapMs`, except while a node is cut off
 *   from LiteFS (it cannot learn that its shards moved), until `overlapMs` after that cut heals.
 * - Unowned: no live connection for a shard. At most `unownedMs` (the lease's expiry and
 *   lock-delay, the new primary's grace, failure detection, the move), lengthened by any fault
 *   that holds the primary itself back meanwhile (its stall, its disk, its cuts).
 */
import type { ConnectionInfo } from '../../../src/discord-sim/fake-discord.ts';
import type { FaultLog } from '../fault-log.ts';
import { InvariantViolation } from './violation.ts';

export interface ConnectionCheckOptions {
  readonly faults: FaultLog;
  readonly overlapMs: number;
  readonly unownedMs: number;
  /** Extra time a span may take because of faults that held the primary back during [from, to]. */
  readonly primaryHeldMs: (from: number, to: number) => number;
  /**
   * When, during [from, to], some node was cut off from LiteFS (it reads no new assignments, and
   * knows no primary to hear from), the time that cut healed (Infinity: not yet); else null.
   */
  readonly blindUntil: (from: number, to: number) => number | null;
}

interface Span {
  since: number;
}

export class ConnectionCheck {
  readonly #o: ConnectionCheckOptions;
  readonly #overlap = new Map<number, Span>();
  readonly #unowned = new Map<number, Span>();
  maxOverlapMs = 0;
  maxUnownedMs = 0;
  overlaps = 0;

  constructor(options: ConnectionCheckOptions) {
    this.#o = options;
  }

  /** `connections`: the simulator's, all shards; `shards`: the active set's count. */
  poll(connections: readonly (ConnectionInfo & { closing?: boolean })[], shards: number, now = Date.now()): void {
    const live = new Array<number>(shards).fill(0);
    const sessions = new Map<number, string[]>();
    for (const c of connections) {
      if (!c.open || c.closing || c.sessionId === null || c.shardId < 0 || c.shardId >= shards) continue;
      live[c.shardId]! += 1;
      sessions.set(c.shardId, [...(sessions.get(c.shardId) ?? []), `${c.id}:${c.sessionId.slice(0, 8)}`]);
    }
    for (let shard = 0; shard < shards; shard++) {
      this.#track(this.#overlap, shard, live[shard]! > 1, now, (since) => this.#overlapAllowed(since, now), (ms) => {
        this.maxOverlapMs = Math.max(this.maxOverlapMs, ms);
      }, () => `shard ${shard} has ${live[shard]} live gateway connections (${(sessions.get(shard) ?? []).join(', ')})`, 'two live connections', (span) => {
        if (span) this.overlaps += 1;
      });
      this.#track(this.#unowned, shard, live[shard] === 0, now, (since) => this.#o.unownedMs + this.#o.primaryHeldMs(since, now), (ms) => {
        this.maxUnownedMs = Math.max(this.maxUnownedMs, ms);
      }, () => `shard ${shard} has no live gateway connection`, 'shard unowned');
    }
  }

  #overlapAllowed(since: number, now: number): number {
    const healed = this.#o.blindUntil(since, now);
    if (healed === null) return this.#o.overlapMs;
    return Math.max(this.#o.overlapMs, (Number.isFinite(healed) ? healed : now) - since + this.#o.overlapMs);
  }

  #track(
    spans: Map<number, Span>,
    shard: number,
    active: boolean,
    now: number,
    allowed: (since: number) => number,
    measured: (ms: number) => void,
    what: () => string,
    invariant: string,
    started?: (span: boolean) => void,
  ): void {
    const span = spans.get(shard);
    if (!active) {
      if (span) {
        measured(now - span.since);
        spans.delete(shard);
      }
      return;
    }
    if (!span) {
      spans.set(shard, { since: now });
      started?.(true);
      return;
    }
    const ms = now - span.since;
    const limit = allowed(span.since);
    if (ms > limit) {
      measured(ms);
      throw new InvariantViolation(invariant, `${what()} for ${ms} ms (allowed here: ${Math.round(limit)} ms)`);
    }
  }
}

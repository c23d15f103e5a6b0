/**
 * The simulator's ledger against what every node's bot handled, as the handling happens.
 *
 * - Lost: a routed event nobody handled within `lostAfterMs` of its sending (long enough for
 *   any outage the other invariants allow), unless Discord itself dropped it: every event still
 *   unhandled in a session the server ended (op 9 false, a session-ending close) is gone for
 *   any client, as on Discord.
 * - Duplicated: an event handled more than once. The design allows that only across a
 *   failover (contract 7: at-least-once from the last committed seq), so a duplicate is allowed
 *   when a node that handled it was killed, stalled or cut off around then; any other duplicate
 *   (a move, a takeover, a leave, a reconnect) breaks contract 6.
 */
import type { Ledger } from '../../../src/discord-sim/ledger.ts';
import type { FaultLog } from '../fault-log.ts';
import { InvariantViolation } from './violation.ts';

export interface HandledRecord {
  readonly node: string;
  readonly shardId: number;
  readonly sessionId: string;
  readonly seq: number;
  readonly t: string;
  readonly at: number;
}

export interface DeliveryCheckOptions {
  readonly ledger: Ledger;
  readonly faults: FaultLog;
  /** An event unhandled this long after it was sent is lost. */
  readonly lostAfterMs: number;
  /** How far around a disruption its failover's re-deliveries may land. */
  readonly aftermathMs: number;
  /** Events up to this logical number are not checked (a cold start before the schedule). */
  readonly since?: number;
}

function grow<T extends Uint32Array | Float64Array | Uint8Array>(array: T, needed: number, make: (n: number) => T): T {
  if (needed < array.length) return array;
  const next = make(Math.max(needed + 1, array.length * 2));
  next.set(array);
  return next;
}

export class DeliveryCheck {
  readonly #o: DeliveryCheckOptions;
  readonly #nodes: string[] = [];
  #count = new Uint32Array(1024);
  #firstNode = new Uint8Array(1024);
  #firstAt = new Float64Array(1024);
  /** Events handled more than once, all allowed (a violation throws). */
  duplicated = 0;
  handled = 0;
  /** Lost events Discord itself dropped (their session ended by a fault before they were handled). */
  droppedByDiscord = 0;
  /** Every event up to here was handled or excused. */
  #scannedUpTo = 0;
  /** Sessions the server ended by an injected fault, and the events each had carried. */
  readonly #ended = new Map<string, { at: number; events: Set<number> | null }>();

  constructor(options: DeliveryCheckOptions) {
    this.#o = options;
    this.#scannedUpTo = options.since ?? 0;
  }

  /** The server ended these sessions (a fault injected now): their unhandled events are Discord's loss. */
  sessionsEnded(sessionIds: readonly string[], at = Date.now()): void {
    for (const id of sessionIds) if (!this.#ended.has(id)) this.#ended.set(id, { at, events: null });
  }

  record(record: HandledRecord): void {
    const eventNo = this.#o.ledger.eventOf(record.sessionId, record.seq);
    if (eventNo === undefined || eventNo === 0 || eventNo <= (this.#o.since ?? 0)) return;
    this.#count = grow(this.#count, eventNo, (n) => new Uint32Array(n));
    this.#firstNode = grow(this.#firstNode, eventNo, (n) => new Uint8Array(n));
    this.#firstAt = grow(this.#firstAt, eventNo, (n) => new Float64Array(n));
    const times = this.#count[eventNo]!;
    this.#count[eventNo] = times + 1;
    if (times === 0) {
      this.handled += 1;
      let index = this.#nodes.indexOf(record.node);
      if (index === -1) index = this.#nodes.push(record.node) - 1;
      this.#firstNode[eventNo] = index;
      this.#firstAt[eventNo] = record.at;
      return;
    }
    if (times === 1) this.duplicated += 1;
    const first = { node: this.#nodes[this.#firstNode[eventNo]!]!, at: this.#firstAt[eventNo]! };
    const from = Math.min(first.at, record.at) - this.#o.aftermathMs;
    const to = Math.max(first.at, record.at);
    const excuses = [...this.#o.faults.disruptionsOf(first.node, from, to), ...this.#o.faults.disruptionsOf(record.node, from, to)];
    if (excuses.length > 0) return;
    const event = this.#o.ledger.logicalEvent(eventNo);
    throw new InvariantViolation(
      'delivered twice',
      `event #${eventNo} (${event?.t ?? record.t}, sent ${event ? new Date(event.at).toISOString() : '?'}) was handled ${times + 1} times: first on ${first.node} at ${new Date(first.at).toISOString()}, again on ${record.node} at ${new Date(record.at).toISOString()} (session ${record.sessionId} seq ${record.seq}), with no crash, stall or cut of either node around then (contract 6: moves and reconnects deliver exactly once)`,
    );
  }

  /** Throws for an event sent before `now - lostAfterMs` (all of them with `final`) that nobody handled. */
  checkLost(now = Date.now(), final = false): void {
    const ledger = this.#o.ledger;
    const cutoff = final ? Number.POSITIVE_INFINITY : now - this.#o.lostAfterMs;
    let n = this.#scannedUpTo + 1;
    for (; n <= ledger.logicalEventCount; n += 1) {
      const event = ledger.logicalEvent(n)!;
      if (event.at > cutoff) break;
      if ((this.#count[n] ?? 0) > 0) continue;
      if (this.#droppedByDiscord(n)) {
        this.droppedByDiscord += 1;
        continue;
      }
      throw new InvariantViolation(
        'lost',
        `event #${n} (${event.t}, sent ${new Date(event.at).toISOString()}) was handled by no node ${final ? 'by the end of the run' : `within ${this.#o.lostAfterMs} ms`}, and no session it reached was ended by the server`,
      );
    }
    this.#scannedUpTo = n - 1;
  }

  #droppedByDiscord(eventNo: number): boolean {
    for (const [sessionId, ended] of this.#ended) {
      ended.events ??= this.#eventsOf(sessionId);
      if (ended.events.has(eventNo)) return true;
    }
    return false;
  }

  #eventsOf(sessionId: string): Set<number> {
    const events = new Set<number>();
    for (let seq = 1; ; seq += 1) {
      const eventNo = this.#o.ledger.eventOf(sessionId, seq);
      if (eventNo === undefined) break;
      if (eventNo > 0) events.add(eventNo);
    }
    return events;
  }
}

/**
 * No IDENTIFY except where the recovery policy table says so, judged from the simulator's
 * side. Every connection that reached READY by IDENTIFY is an identify. It is planned when the
 * shard had no session yet, or when every earlier session of the shard was ended by the server
 * or given up by the table (op 9 false, a close code whose row says identify). Otherwise an
 * earlier session was still resumable: throwing it away loses the events it holds. That is
 * allowed only where the design allows loss of a session: the session was never committed (its
 * node crashed or was cut off before the funnel committed it), and it is counted; an identify
 * that abandons a committed, resumable session is a violation.
 */
import type { ConnectionInfo } from '../../../src/discord-sim/fake-discord.ts';
import type { FaultLog } from '../fault-log.ts';
import { InvariantViolation } from './violation.ts';

interface KnownSession {
  readonly sessionId: string;
  readonly shardId: number;
  readonly seenAt: number;
  endedAt: number | null;
  /** The node whose IDENTIFY created it (from the nodes' shardReady reports). */
  node: string | null;
}

export interface IdentifyCheckOptions {
  readonly faults: FaultLog;
  readonly aftermathMs: number;
}

export class IdentifyCheck {
  readonly #o: IdentifyCheckOptions;
  readonly #seenConnections = new Set<string>();
  readonly #sessions = new Map<string, KnownSession>();
  readonly #committed = new Set<string>();
  /** Identifies the table did not ask for but a crash, stall or cut excuses (the session was never committed). */
  unplanned = 0;
  planned = 0;

  constructor(options: IdentifyCheckOptions) {
    this.#o = options;
  }

  /** A node reported READY (resumed false) on this session. */
  identifiedBy(sessionId: string, node: string): void {
    const known = this.#sessions.get(sessionId);
    if (known) known.node ??= node;
    else this.#pendingNodes.set(sessionId, node);
  }

  readonly #pendingNodes = new Map<string, string>();

  /** The server ended these sessions, or the table told the client to give them up. */
  sessionsEnded(sessionIds: readonly string[], at = Date.now()): void {
    for (const id of sessionIds) {
      const known = this.#sessions.get(id);
      if (known && known.endedAt === null) known.endedAt = at;
    }
  }

  /** Session ids seen committed in shard_sessions. */
  committed(sessionIds: Iterable<string>): void {
    for (const id of sessionIds) this.#committed.add(id);
  }

  poll(connections: readonly ConnectionInfo[], now = Date.now()): void {
    for (const c of connections) {
      if (c.sessionId === null || this.#seenConnections.has(c.id)) continue;
      this.#seenConnections.add(c.id);
      if (c.resumed || this.#sessions.has(c.sessionId)) continue;
      this.#identified(c, now);
    }
  }

  #identified(c: ConnectionInfo, now: number): void {
    const earlier = [...this.#sessions.values()].filter((s) => s.shardId === c.shardId && s.endedAt === null);
    this.#sessions.set(c.sessionId!, { sessionId: c.sessionId!, shardId: c.shardId, seenAt: now, endedAt: null, node: this.#pendingNodes.get(c.sessionId!) ?? null });
    this.#pendingNodes.delete(c.sessionId!);
    if (earlier.length === 0) {
      this.planned += 1;
      return;
    }
    // The earlier sessions are abandoned from now on, whatever the verdict.
    for (const s of earlier) s.endedAt = now;
    const committed = earlier.filter((s) => this.#committed.has(s.sessionId));
    if (committed.length > 0) {
      throw new InvariantViolation(
        'unplanned identify',
        `shard ${c.shardId} identified (connection ${c.id}, new session ${c.sessionId}) while its committed session ${committed.map((s) => s.sessionId).join(', ')} was still resumable: the recovery table asks for a RESUME there`,
      );
    }
    // Never committed: allowed if its node crashed, stalled or was cut off (it could not commit it).
    const excused = earlier.every((s) => s.node === null || this.#o.faults.disruptionsOf(s.node, s.seenAt - this.#o.aftermathMs, now).length > 0);
    if (!excused) {
      throw new InvariantViolation(
        'unplanned identify',
        `shard ${c.shardId} identified (connection ${c.id}) while session ${earlier.map((s) => `${s.sessionId} of ${s.node}`).join(', ')} was still resumable, and that node neither crashed nor was stalled or cut off`,
      );
    }
    this.unplanned += 1;
  }
}

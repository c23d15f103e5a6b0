import { ShardlineError } from '../core/errors.ts';
import type { PlacementNode } from '../core/placement.ts';
import type { HeartbeatRequest } from './cluster-protocol.ts';
import type { NodeRow } from './cluster-tables.ts';

interface KnownNode {
  url: string;
  version: string;
  startedAt: number;
  lastSeen: number;
  draining: boolean;
  dead: boolean;
  /** Told to stop and asking to be drained (contract 11); said by each of its heartbeats, so a restarted process is not. */
  leaving: boolean;
  /** Gone after a leave: counts as dead, but without a death's warning, and comes back as a join. */
  left: boolean;
  /** Seen since its row was last written. */
  dirty: boolean;
}

/** What a heartbeat changed about its node, each a cluster event. */
export type HeartbeatChange = 'join' | 'rejoin' | 'leave' | 'left';

export interface DeadNode {
  readonly nodeId: string;
  readonly silentMs: number;
}

/**
 * The primary's view of the nodes: who was heard from when, who is draining, who is dead.
 * Memory only; the coordinator persists what changed, on its own schedule.
 */
export class NodeRegistry {
  readonly #nodes = new Map<string, KnownNode>();
  readonly #timeoutMs: number;
  readonly #tickMs: number;
  #lastSweepAt = 0;

  constructor(options: { timeoutMs: number; tickMs: number }) {
    this.#timeoutMs = options.timeoutMs;
    this.#tickMs = options.tickMs;
  }

  /**
   * Starts from the persisted nodes and the owners of assigned shards. Everyone counts as just
   * seen (contract 7's grace): nobody is declared dead before a full timeout under this primary.
   * An owner without a nodes row (not persisted or not replicated yet) gets the same grace;
   * otherwise the planner would see an unknown owner and fail its live shards over at once.
   */
  load(rows: readonly NodeRow[], owners: Iterable<string>, now: number): void {
    this.#nodes.clear();
    this.#lastSweepAt = 0;
    for (const row of rows) {
      this.#nodes.set(row.id, { url: row.url, version: row.version, startedAt: row.startedAt, lastSeen: now, draining: row.draining, dead: false, leaving: false, left: false, dirty: false });
    }
    for (const id of owners) {
      if (!this.#nodes.has(id)) this.#nodes.set(id, { url: '', version: '', startedAt: 0, lastSeen: now, draining: false, dead: false, leaving: false, left: false, dirty: false });
    }
  }

  get size(): number {
    return this.#nodes.size;
  }

  /**
   * Records a heartbeat; says what changed: a node new to this primary, back from the dead,
   * starting to leave, or gone after its leave. A heartbeat of the same process that arrives
   * after its 'left' (sent earlier, delivered late) changes nothing.
   */
  heartbeat(request: HeartbeatRequest, now: number): HeartbeatChange[] {
    const known = this.#nodes.get(request.nodeId);
    if (known?.left && known.startedAt === request.startedAt) return [];
    const left = request.leaving === 'left';
    // A process that began to leave never stays after all: only a new process (another startedAt) clears it.
    const leaving = left || request.leaving === 'leaving' || (known !== undefined && known.leaving && known.startedAt === request.startedAt);
    this.#nodes.set(request.nodeId, {
      url: request.url,
      version: request.version,
      startedAt: request.startedAt,
      lastSeen: now,
      draining: known?.draining ?? false,
      dead: left,
      leaving,
      left,
      dirty: true,
    });
    const changes: HeartbeatChange[] = [];
    if (!known || known.left) changes.push('join');
    else if (known.dead) changes.push('rejoin');
    if (leaving && !known?.leaving) changes.push('leave');
    if (left) changes.push('left');
    return changes;
  }

  /**
   * A leaving primary handed this primary the lease and asks to be drained before its own
   * heartbeats get here (its LiteFS reconnects first). False when the node is unknown, dead or
   * leaving already.
   */
  markLeaving(nodeId: string): boolean {
    const node = this.#nodes.get(nodeId);
    if (!node || node.dead || node.leaving) return false;
    node.leaving = true;
    return true;
  }

  /**
   * Declares dead every node silent for longer than the timeout; returns the newly dead.
   * A sweep that comes late (this process stalled: GC, a slow disk, a busy machine) judges
   * silence only up to the previous sweep: heartbeats that arrived since may be queued behind
   * this very sweep, while every one that arrived before the previous sweep has been read by
   * now. So a stall is never taken for the others' silence, and a dead node is still declared
   * dead at most one sweep late however slow every sweep is.
   */
  sweep(now: number): DeadNode[] {
    const late = this.#lastSweepAt !== 0 && now - this.#lastSweepAt - this.#tickMs > this.#tickMs * 3;
    const heardUpTo = late ? this.#lastSweepAt : now;
    this.#lastSweepAt = now;
    const dead: DeadNode[] = [];
    for (const [nodeId, node] of this.#nodes) {
      if (!node.dead && heardUpTo - node.lastSeen > this.#timeoutMs) {
        node.dead = true;
        dead.push({ nodeId, silentMs: now - node.lastSeen });
      }
    }
    return dead;
  }

  /** Throws NOT_FOUND for a node this primary has never heard of. */
  setDraining(nodeId: string, draining: boolean): void {
    const node = this.#nodes.get(nodeId);
    if (!node) throw new ShardlineError('NOT_FOUND', `Cannot ${draining ? 'drain' : 'undrain'} node ${nodeId}: no such node`);
    node.draining = draining;
  }

  url(nodeId: string): string | null {
    return this.#nodes.get(nodeId)?.url || null;
  }

  status(nodeId: string): 'unknown' | 'dead' | 'left' | 'leaving' | 'draining' | 'alive' {
    const node = this.#nodes.get(nodeId);
    if (!node) return 'unknown';
    if (node.left) return 'left';
    if (node.dead) return 'dead';
    if (node.leaving) return 'leaving';
    return node.draining ? 'draining' : 'alive';
  }

  /** A leaving node is drained like a draining one: it gets nothing and gives everything away. */
  placementNodes(): PlacementNode[] {
    return [...this.#nodes].map(([id, n]) => ({ id, alive: !n.dead, draining: n.draining || n.leaving }));
  }

  /** Rows of the nodes heard from since markPersisted(); `draining` is written separately. */
  dirtyRows(): Omit<NodeRow, 'draining'>[] {
    const rows: Omit<NodeRow, 'draining'>[] = [];
    for (const [id, n] of this.#nodes) if (n.dirty) rows.push({ id, url: n.url, version: n.version, startedAt: n.startedAt, lastHeartbeatAt: n.lastSeen });
    return rows;
  }

  hasDirty(): boolean {
    for (const node of this.#nodes.values()) if (node.dirty) return true;
    return false;
  }

  markPersisted(ids: readonly string[]): void {
    for (const id of ids) {
      const node = this.#nodes.get(id);
      if (node) node.dirty = false;
    }
  }
}

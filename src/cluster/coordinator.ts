import { ShardlineError } from '../core/errors.ts';
import { planPlacement, type Move, type PlacementNode } from '../core/placement.ts';
import type { Clock, Logger } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { parseResumeInfo, type ResumeInfo } from '../core/resume-info.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { MutationApplier } from '../store/mutation-applier.ts';
import { listShardSessions } from '../store/queries.ts';
import type { HeartbeatRequest, HeartbeatResponse } from './cluster-protocol.ts';
import { appendEvent, readAssignments, readNodes, setDraining, upsertNode, writeAssignment, deleteAssignmentsFrom, type AssignmentRow } from './cluster-tables.ts';

/** How the coordinator acts on nodes: in-process for itself, over HTTP for the others. */
export interface NodeCommands {
  /** Detach the shard on `nodeId` (it must run it at `epoch`) and return its resume info; its writes are flushed first. */
  detach(nodeId: string, shardId: number, epoch: number): Promise<ResumeInfo>;
  /** Ask `nodeId` to start the shard now at `epoch` (resuming when `resume` is given). Best effort: the node's reconcile loop is the backstop. */
  start(nodeId: string, shardId: number, epoch: number, resume: ResumeInfo | null): Promise<void>;
}

export interface CoordinatorOptions {
  readonly nodeId: string;
  /** The primary's writable connection. */
  readonly db: SqliteDriver;
  readonly shardCount: number;
  readonly commands: NodeCommands;
  readonly logger: Logger;
  /** A node is dead after this long without a heartbeat. Default 5000. */
  readonly nodeTimeoutMs?: number;
  readonly tickMs?: number;
  /**
   * After becoming primary, unowned shards wait this long so that nodes starting together
   * all get a share instead of one node identifying everything. Default 1500.
   */
  readonly settleMs?: number;
  /** Rebalancing handoffs running at once (failovers are never held back). Default 1. */
  readonly maxConcurrentHandoffs?: number;
  readonly clock?: Clock;
  /**
   * A shard handed off by hand (POST /shards/:id/handoff) waits this long for the matching
   * resume before the planner places it again from the committed session. Default 60 000.
   */
  readonly detachedTimeoutMs?: number;
  /** Called after assignments changed in the database (the local agent reconciles at once). */
  readonly onAssignmentsChanged?: () => void;
  /** True while the primary's writes are held for a lease handoff: rounds are skipped. */
  readonly writesHeld?: () => boolean;
  /**
   * True while another connection is committing (the funnel's transaction thread). A write on
   * this connection would wait for it with the event loop blocked, so the once-a-second
   * heartbeat persistence waits for a free moment instead (at most PERSIST_DEFER_MAX_MS).
   */
  readonly storeBusy?: () => boolean;
  /**
   * Runs a write of this connection while no other connection commits (the funnel's thread
   * sends nothing meanwhile), so the event loop never sits in SQLite's synchronous busy wait,
   * which under load lasts a whole batch (tens of ms). The handoff paths write through it.
   * Default: at once.
   */
  readonly exclusive?: <T>(write: () => T) => Promise<T>;
}

/** How long heartbeat persistence may wait for the store to be free before it writes anyway. */
const PERSIST_DEFER_MAX_MS = 5_000;

export interface MoveResult {
  readonly shardId: number;
  readonly from: string;
  readonly to: string;
  readonly epoch: number;
  /** The seq the new owner resumes after. */
  readonly seq: number;
  readonly tookMs: number;
}

/** A shard released for a manual handoff: its final resume info, committed with the epoch bump. */
export interface ReleaseResult {
  readonly resume: ResumeInfo;
  /** The epoch of the 'detached' row (no node runs the shard at it). */
  readonly epoch: number;
}

export interface ClaimResult {
  readonly shardId: number;
  readonly epoch: number;
  readonly node: string;
}

interface KnownNode {
  url: string;
  version: string;
  startedAt: number;
  lastSeen: number;
  draining: boolean;
  dead: boolean;
  dirty: boolean;
}

/**
 * Runs on the primary only, from the moment it holds the lease to the moment it loses it
 * (contract 1). It records heartbeats, declares nodes dead after `nodeTimeout` (after a grace
 * of one `nodeTimeout` when it just became primary, contract 7), places shards with the pure
 * planner, fences stale epochs (contract 5) and orchestrates handoffs by resume (contract 6).
 */
export class Coordinator {
  readonly #o: CoordinatorOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #applier: MutationApplier;
  readonly #nodeTimeoutMs: number;
  #assignments = new Map<number, AssignmentRow>();
  readonly #nodes = new Map<string, KnownNode>();
  readonly #moving = new Set<number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #lastPersist = 0;
  #startedAt = 0;
  #lastTickAt = 0;

  constructor(options: CoordinatorOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'coordinator' });
    this.#clock = options.clock ?? systemClock;
    this.#applier = new MutationApplier(options.db);
    this.#nodeTimeoutMs = options.nodeTimeoutMs ?? 5_000;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    const now = this.#clock.now();
    this.#startedAt = now;
    const db = this.#o.db;
    this.#assignments = readAssignments(db);
    // Grace (contract 7): everyone known counts as just seen, so nobody is declared dead
    // before a full nodeTimeout has passed under this primary.
    for (const row of readNodes(db)) {
      this.#nodes.set(row.id, { url: row.url, version: row.version, startedAt: row.startedAt, lastSeen: now, draining: row.draining, dead: false, dirty: false });
    }
    // An owner whose nodes row has not been persisted (or replicated) yet gets the same grace:
    // otherwise the planner would see an unknown owner and fail its live shards over at once.
    for (const row of this.#assignments.values()) {
      if (row.nodeId && !this.#nodes.has(row.nodeId)) {
        this.#nodes.set(row.nodeId, { url: '', version: '', startedAt: 0, lastSeen: now, draining: false, dead: false, dirty: false });
      }
    }
    db.transaction(() => {
      const removed = deleteAssignmentsFrom(db, this.#o.shardCount);
      if (removed > 0) for (const id of [...this.#assignments.keys()]) if (id >= this.#o.shardCount) this.#assignments.delete(id);
      appendEvent(db, { at: now, kind: 'takeover', nodeId: this.#o.nodeId, detail: { shardCount: this.#o.shardCount } });
    });
    this.#running = true;
    this.#log.info({ nodes: this.#nodes.size, shards: this.#o.shardCount }, 'coordinator started on the primary');
    this.#timer = setInterval(() => this.tick(), this.#o.tickMs ?? 250);
  }

  /** Stops at once: no further writes, no new moves (moves in flight abandon their commit). */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#log.info('coordinator stopped');
  }

  /** Contract 5: only the current epoch of a shard may write. */
  fence(shardId: number, epoch: number): boolean {
    return this.#assignments.get(shardId)?.epoch === epoch;
  }

  heartbeat(request: HeartbeatRequest): HeartbeatResponse {
    if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Cannot record the heartbeat of ${request.nodeId}: this node's coordinator is not running`);
    const now = this.#clock.now();
    const known = this.#nodes.get(request.nodeId);
    if (!known || known.dead) {
      this.#event(known ? 'rejoin' : 'join', request.nodeId, null, { url: request.url, version: request.version });
      // Other nodes find a node's URL in the replicated nodes table: write a newcomer at the next tick.
      this.#lastPersist = 0;
      this.#log.info({ node: request.nodeId, url: request.url }, known ? 'node is back' : 'node joined');
    }
    this.#nodes.set(request.nodeId, {
      url: request.url,
      version: request.version,
      startedAt: request.startedAt,
      lastSeen: now,
      draining: known?.draining ?? false,
      dead: false,
      dirty: true,
    });
    return { primary: this.#o.nodeId, shardCount: this.#o.shardCount };
  }

  nodeUrl(nodeId: string): string | null {
    return this.#nodes.get(nodeId)?.url || null;
  }

  setDraining(nodeId: string, draining: boolean): void {
    const node = this.#nodes.get(nodeId);
    if (!node) throw new ShardlineError('NOT_FOUND', `Cannot ${draining ? 'drain' : 'undrain'} node ${nodeId}: no such node`);
    node.draining = draining;
    setDraining(this.#o.db, nodeId, draining);
    this.#event(draining ? 'drain' : 'undrain', nodeId, null, {});
    this.tick();
  }

  assignments(): ReadonlyMap<number, AssignmentRow> {
    return this.#assignments;
  }

  /** One round: persist heartbeats, detect deaths, place shards. The interval calls it. */
  tick(): void {
    // A held primary (handing its lease over) writes nothing, so it plans nothing either.
    if (!this.#running || this.#o.writesHeld?.()) return;
    try {
      this.#tick();
    } catch (error) {
      this.#log.error({ err: error }, 'coordinator round failed; retrying next tick');
    }
  }

  #tick(): void {
    const now = this.#clock.now();
    const db = this.#o.db;
    // A stall of this process (GC, a busy machine) is not silence of the others: their
    // heartbeats are queued behind this very tick. The stalled time does not count against them.
    const tickMs = this.#o.tickMs ?? 250;
    const stalled = this.#lastTickAt === 0 ? 0 : now - this.#lastTickAt - tickMs;
    this.#lastTickAt = now;
    if (stalled > tickMs * 3) for (const node of this.#nodes.values()) if (!node.dead) node.lastSeen = Math.min(now, node.lastSeen + stalled);
    for (const [id, node] of this.#nodes) {
      if (!node.dead && now - node.lastSeen > this.#nodeTimeoutMs) {
        node.dead = true;
        this.#event('dead', id, null, { silentMs: now - node.lastSeen });
        this.#log.warn({ node: id, silentMs: now - node.lastSeen }, 'node declared dead: its shards fail over');
      }
    }
    const sincePersist = now - this.#lastPersist;
    if (sincePersist >= 1_000 && !(sincePersist < PERSIST_DEFER_MAX_MS && this.#o.storeBusy?.())) {
      this.#lastPersist = now;
      const dirty = [...this.#nodes].filter(([, n]) => n.dirty);
      if (dirty.length > 0) {
        db.transaction(() => {
          for (const [id, n] of dirty) upsertNode(db, { id, url: n.url, version: n.version, startedAt: n.startedAt, lastHeartbeatAt: n.lastSeen });
        });
        for (const [, n] of dirty) n.dirty = false;
      }
    }

    const owners = new Map<number, string | null>();
    for (let shardId = 0; shardId < this.#o.shardCount; shardId++) owners.set(shardId, this.#assignments.get(shardId)?.nodeId ?? null);
    const nodes: PlacementNode[] = [...this.#nodes].map(([id, n]) => ({ id, alive: !n.dead, draining: n.draining }));
    const moves = planPlacement({ shardCount: this.#o.shardCount, owners, nodes }).filter((m) => !this.#moving.has(m.shardId) && !this.#awaitingResume(m.shardId, now));
    const settled = now - this.#startedAt >= (this.#o.settleMs ?? 1_500);
    const immediate = moves.filter((m) => m.kind === 'failover' || (m.kind === 'place' && settled));
    if (immediate.length > 0) this.#assignNow(immediate, now);
    const room = (this.#o.maxConcurrentHandoffs ?? 1) - this.#moving.size;
    for (const move of moves.filter((m) => m.kind === 'handoff').slice(0, Math.max(0, room))) {
      void this.#handoff(move.shardId, move.to, 'rebalance').catch(() => {});
    }
  }

  /** Places unowned shards and fails over dead nodes' shards in one transaction. */
  #assignNow(moves: readonly Move[], now: number): void {
    const db = this.#o.db;
    const sessions = new Map(listShardSessions(db).map((s) => [s.shardId, s]));
    const rows: AssignmentRow[] = [];
    db.transaction(() => {
      for (const move of moves) {
        const epoch = (this.#assignments.get(move.shardId)?.epoch ?? 0) + 1;
        const row: AssignmentRow = { shardId: move.shardId, nodeId: move.to, epoch, state: 'assigned', updatedAt: now };
        writeAssignment(db, row);
        appendEvent(db, { at: now, kind: move.kind === 'failover' ? 'failover' : 'place', nodeId: move.to, shardId: move.shardId, detail: { from: move.from, epoch } });
        rows.push(row);
      }
    });
    for (const row of rows) this.#assignments.set(row.shardId, row);
    this.#o.onAssignmentsChanged?.();
    for (const row of rows) {
      const session = sessions.get(row.shardId);
      const resume = session && session.shardCount === this.#o.shardCount ? toResume(session) : null;
      void this.#o.commands.start(row.nodeId!, row.shardId, row.epoch, resume).catch((error: unknown) => {
        this.#log.debug({ err: (error as Error).message, shardId: row.shardId, node: row.nodeId }, 'start request failed; the node reconciles from its replica');
      });
    }
  }

  /** The orchestrated move (contract 6): detach there, commit resume info and epoch together, resume here. */
  move(shardId: number, to: string): Promise<MoveResult> {
    if (!this.#running) return Promise.reject(new ShardlineError('NOT_PRIMARY', `Cannot move shard ${shardId}: this node is not the primary`));
    if (!Number.isInteger(shardId) || shardId < 0 || shardId >= this.#o.shardCount) {
      return Promise.reject(new ShardlineError('INVALID_INPUT', `Cannot move shard ${shardId}: shard ids run from 0 to ${this.#o.shardCount - 1}`));
    }
    const target = this.#nodes.get(to);
    if (!target || target.dead) return Promise.reject(new ShardlineError('CONFLICT', `Cannot move shard ${shardId} to ${to}: that node is ${target ? 'dead' : 'unknown'}`));
    if (target.draining) return Promise.reject(new ShardlineError('CONFLICT', `Cannot move shard ${shardId} to ${to}: that node is draining`));
    if (this.#moving.has(shardId)) return Promise.reject(new ShardlineError('CONFLICT', `Cannot move shard ${shardId}: a move of it is already running`));
    const from = this.#assignments.get(shardId)?.nodeId;
    if (from === to) return Promise.reject(new ShardlineError('CONFLICT', `Cannot move shard ${shardId} to ${to}: it already runs there`));
    return this.#handoff(shardId, to, 'manual');
  }

  async #handoff(shardId: number, to: string, reason: 'rebalance' | 'manual'): Promise<MoveResult> {
    const current = this.#assignments.get(shardId);
    if (!current?.nodeId) throw new ShardlineError('CONFLICT', `Cannot move shard ${shardId}: ${current ? describe(current) : 'it has no owner yet'}`);
    const from = current.nodeId;
    const started = this.#clock.now();
    this.#moving.add(shardId);
    try {
      const detached = parseResumeInfo(await this.#o.commands.detach(from, shardId, current.epoch));
      if (detached.shardId !== shardId || detached.shardCount !== this.#o.shardCount) {
        throw new ShardlineError('CONFLICT', `Cannot move shard ${shardId}: ${from} answered resume info of shard [${detached.shardId}, ${detached.shardCount}]`);
      }
      const epoch = current.epoch + 1;
      await this.#exclusive(() => {
        if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Move of shard ${shardId} abandoned: this node lost the primary role`);
        const row: AssignmentRow = { shardId, nodeId: to, epoch, state: 'assigned', updatedAt: this.#clock.now() };
        this.#commitAssignment(row, detached, { kind: 'move', nodeId: to, detail: { from, to, epoch, seq: detached.seq, reason } });
      });
      this.#o.onAssignmentsChanged?.();
      await this.#o.commands.start(to, shardId, epoch, detached).catch((error: unknown) => {
        this.#log.warn({ err: (error as Error).message, shardId, to }, 'target did not confirm the start; it reconciles from its replica');
      });
      const result = { shardId, from, to, epoch, seq: detached.seq, tookMs: this.#clock.now() - started };
      this.#log.info(result, 'shard moved by resume');
      return result;
    } catch (error) {
      this.#log.warn({ err: (error as Error).message, shardId, from, to }, 'shard move failed');
      throw error;
    } finally {
      this.#moving.delete(shardId);
    }
  }

  /**
   * First half of a manual handoff: detaches the shard on its owner (which must run it at
   * `epoch`), then commits its final resume info together with an assignment to nobody in
   * state 'detached' at a bumped epoch, so no node starts it until claimResume() or until
   * `detachedTimeoutMs` passes (then the planner places it again, resuming from that session).
   */
  async releaseForManualHandoff(shardId: number, owner: { nodeId: string; epoch: number }): Promise<ReleaseResult> {
    this.#checkShard(shardId, 'hand off');
    const current = this.#assignments.get(shardId);
    if (!current || current.nodeId !== owner.nodeId || current.epoch !== owner.epoch) {
      throw new ShardlineError('CONFLICT', `Cannot hand off shard ${shardId} from ${owner.nodeId} at epoch ${owner.epoch}: ${describe(current)}`);
    }
    if (this.#moving.has(shardId)) throw new ShardlineError('CONFLICT', `Cannot hand off shard ${shardId}: a move of it is already running`);
    this.#moving.add(shardId);
    try {
      const detached = parseResumeInfo(await this.#o.commands.detach(owner.nodeId, shardId, owner.epoch));
      if (detached.shardId !== shardId || detached.shardCount !== this.#o.shardCount) {
        throw new ShardlineError('CONFLICT', `Cannot hand off shard ${shardId}: ${owner.nodeId} answered resume info of shard [${detached.shardId}, ${detached.shardCount}]`);
      }
      const row = await this.#exclusive((): AssignmentRow => {
        if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Handoff of shard ${shardId} abandoned: this node lost the primary role`);
        const row: AssignmentRow = { shardId, nodeId: null, epoch: owner.epoch + 1, state: 'detached', updatedAt: this.#clock.now() };
        this.#commitAssignment(row, detached, { kind: 'handoff', nodeId: owner.nodeId, detail: { from: owner.nodeId, epoch: row.epoch, seq: detached.seq } });
        return row;
      });
      this.#o.onAssignmentsChanged?.();
      this.#log.info({ shardId, from: owner.nodeId, epoch: row.epoch, seq: detached.seq }, 'shard detached for a manual handoff; waiting for its resume');
      return { resume: detached, epoch: row.epoch };
    } finally {
      this.#moving.delete(shardId);
    }
  }

  /**
   * Second half of a manual handoff: `nodeId` resumes a 'detached' shard from `resume`. The
   * info must match the committed session (same id, seq not behind); on success the shard is
   * assigned to `nodeId` at a new epoch, the session is committed at `resume.seq`, and the
   * node is told to start it. Nothing changes when a check fails.
   */
  async claimResume(shardId: number, nodeId: string, resume: ResumeInfo): Promise<ClaimResult> {
    this.#checkShard(shardId, 'resume');
    const what = `Cannot resume shard ${shardId} on ${nodeId}`;
    if (resume.shardId !== shardId || resume.shardCount !== this.#o.shardCount) {
      throw new ShardlineError('CONFLICT', `${what}: the resume info is for shard [${resume.shardId}, ${resume.shardCount}], the bot runs ${this.#o.shardCount} shards`);
    }
    const db = this.#o.db;
    // Checked and written in one synchronous step once the store is free, so two claims of
    // the same shard cannot both pass the checks while one waits.
    const row = await this.#exclusive((): AssignmentRow => {
      this.#checkShard(shardId, 'resume');
      const node = this.#nodes.get(nodeId);
      if (!node || node.dead) throw new ShardlineError('CONFLICT', `${what}: that node is ${node ? 'dead' : 'unknown to the primary'}`);
      const current = this.#assignments.get(shardId);
      if (current?.state !== 'detached' || this.#moving.has(shardId)) {
        throw new ShardlineError('CONFLICT', `${what}: it is not detached (${describe(current)})`);
      }
      const committed = listShardSessions(db).find((s) => s.shardId === shardId);
      if (!committed || committed.sessionId !== resume.sessionId) {
        throw new ShardlineError('CONFLICT', `${what}: unknown session ${resume.sessionId}${committed ? `; the committed session is ${committed.sessionId}` : '; no session is committed'}`);
      }
      if (resume.seq < committed.seq) {
        throw new ShardlineError('CONFLICT', `${what}: seq ${resume.seq} is behind the committed seq ${committed.seq}`);
      }
      const row: AssignmentRow = { shardId, nodeId, epoch: current.epoch + 1, state: 'assigned', updatedAt: this.#clock.now() };
      this.#commitAssignment(row, resume, { kind: 'resume', nodeId, detail: { epoch: row.epoch, seq: resume.seq } });
      return row;
    });
    this.#o.onAssignmentsChanged?.();
    await this.#o.commands.start(nodeId, shardId, row.epoch, resume).catch((error: unknown) => {
      this.#log.warn({ err: (error as Error).message, shardId, nodeId }, 'node did not confirm the start; it reconciles from its replica');
    });
    this.#log.info({ shardId, nodeId, epoch: row.epoch, seq: resume.seq }, 'detached shard resumed by hand');
    return { shardId, epoch: row.epoch, node: nodeId };
  }

  /**
   * Commits a shard's resume info, its new assignment and the cluster event in one transaction,
   * and makes the assignment current in the same synchronous step: a write waiting its turn
   * in exclusive() checks against it.
   */
  #commitAssignment(row: AssignmentRow, resume: ResumeInfo, event: { kind: string; nodeId: string; detail: Record<string, unknown> }): void {
    const db = this.#o.db;
    db.transaction(() => {
      this.#applier.commitSession(row.shardId, { sessionId: resume.sessionId, seq: resume.seq, resumeGatewayUrl: resume.resumeGatewayUrl, shardCount: resume.shardCount }, row.updatedAt);
      writeAssignment(db, row);
      appendEvent(db, { at: row.updatedAt, kind: event.kind, nodeId: event.nodeId, shardId: row.shardId, detail: event.detail });
    });
    this.#assignments.set(row.shardId, row);
  }

  #exclusive<T>(write: () => T): Promise<T> {
    return this.#o.exclusive ? this.#o.exclusive(write) : Promise.resolve().then(write);
  }

  #checkShard(shardId: number, verb: string): void {
    if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Cannot ${verb} shard ${shardId}: this node's coordinator is not running`);
    if (!Number.isInteger(shardId) || shardId < 0 || shardId >= this.#o.shardCount) {
      throw new ShardlineError('INVALID_INPUT', `Cannot ${verb} shard ${shardId}: shard ids run from 0 to ${this.#o.shardCount - 1}`);
    }
  }

  /** A shard detached by hand stays unplaced until resumed or until its wait is over. */
  #awaitingResume(shardId: number, now: number): boolean {
    const row = this.#assignments.get(shardId);
    return row?.state === 'detached' && now - row.updatedAt < (this.#o.detachedTimeoutMs ?? 60_000);
  }

  #event(kind: string, nodeId: string | null, shardId: number | null, detail: Record<string, unknown>): void {
    try {
      appendEvent(this.#o.db, { at: this.#clock.now(), kind, nodeId, shardId, detail });
    } catch (error) {
      this.#log.warn({ err: (error as Error).message, kind }, 'could not record a cluster event');
    }
  }
}

function describe(row: AssignmentRow | undefined): string {
  if (!row) return 'it has no assignment';
  if (row.state === 'detached') return `it is detached at epoch ${row.epoch}, waiting for a resume`;
  return `it is ${row.state} to ${row.nodeId ?? 'nobody'} at epoch ${row.epoch}`;
}

function toResume(s: { shardId: number; shardCount: number; sessionId: string; seq: number; resumeGatewayUrl: string }): ResumeInfo {
  return { shardId: s.shardId, shardCount: s.shardCount, sessionId: s.sessionId, seq: s.seq, resumeGatewayUrl: s.resumeGatewayUrl };
}

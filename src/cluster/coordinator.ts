import { ShardlineError } from '../core/errors.ts';
import { sqliteErrorCode } from '../core/sqlite.ts';
import { planPlacement, type Move } from '../core/placement.ts';
import type { Clock, Logger } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { parseResumeInfo, type ResumeInfo } from '../core/resume-info.ts';
import { MutationApplier } from '../store/mutation-applier.ts';
import { listShardSessions, resumableSessions } from '../store/queries.ts';
import type { HeartbeatRequest, HeartbeatResponse } from './cluster-protocol.ts';
import type { ClaimResult, CoordinatorOptions, MoveResult, ReleaseResult } from './coordinator-options.ts';
import { pickHandoffs, type HandoffReason } from './handoff-slots.ts';
import { JoinedWrites } from './joined-writes.ts';
import { appendEvent, readAllAssignments, readAssignments, readNodes, setDraining, upsertNode, writeAssignment, deleteAssignmentsFrom, type AssignmentRow } from './cluster-tables.ts';
import { NodeRegistry } from './node-registry.ts';
import { Resharder } from './resharder.ts';
import { ensureActiveSet } from './shard-sets.ts';

export type { ClaimResult, CoordinatorOptions, MoveResult, NodeCommands, ReleaseResult } from './coordinator-options.ts';

/** How often the nodes' last heartbeats are written (other nodes read them from their replica). */
const PERSIST_EVERY_MS = 1_000;
/** Cluster events waiting for a round beyond this are dropped, oldest first (a store that keeps failing). */
const MAX_PENDING_EVENTS = 1_000;

interface PendingEvent {
  readonly at: number;
  readonly kind: string;
  readonly nodeId: string | null;
  readonly shardId: number | null;
  readonly detail: Record<string, unknown>;
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
  readonly #nodes: NodeRegistry;
  #assignments = new Map<number, AssignmentRow>();
  /** Moves running now: the target (null while a manual handoff waits for its resume) and why. */
  readonly #moving = new Map<number, { readonly to: string | null; readonly reason: HandoffReason | null }>();
  /** Moves completed by this coordinator, by reason (for /metrics). */
  readonly #moved = new Map<HandoffReason, number>();
  /** Moves whose old owner answered, committed together when several wait for the store at once. */
  readonly #moveCommits = new JoinedWrites<{ row: AssignmentRow; resume: ResumeInfo; event: AssignmentEvent }>(
    (moves) => {
      if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Move of shard${moves.length > 1 ? 's' : ''} ${moves.map((m) => m.row.shardId).join(', ')} abandoned: this node lost the primary role`);
      this.#o.db.transaction(() => {
        for (const move of moves) this.#writeAssignment(move.row, move.resume, move.event);
      });
      for (const move of moves) this.#assignments.set(move.row.shardId, move.row);
    },
    (write) => this.#exclusive(write),
  );
  /** The active shard set (contract 13): the configured count seeds only the first one. */
  #generation = 0;
  #shardCount: number;
  /** Old shards whose range is switching to a new set: no move may start meanwhile. */
  readonly #held = new Set<number>();
  /** A reshard's new set beside the active one, its switch and its promotion. */
  readonly resharder: Resharder;
  #pendingEvents: PendingEvent[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #lastPersist = 0;
  #startedAt = 0;
  /** The round waiting for (or running in) exclusive(); one at a time. */
  #round: Promise<void> | undefined;

  constructor(options: CoordinatorOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'coordinator' });
    this.#clock = options.clock ?? systemClock;
    this.#applier = new MutationApplier(options.db);
    this.#nodes = new NodeRegistry({ timeoutMs: options.nodeTimeoutMs ?? 5_000, tickMs: options.tickMs ?? 250 });
    this.#shardCount = options.shardCount;
    this.resharder = new Resharder({
      ...options.reshard,
      db: options.db,
      logger: this.#log,
      clock: this.#clock,
      exclusive: (write) => this.#exclusive(write),
      port: {
        running: () => this.#running,
        active: () => ({ generation: this.#generation, shardCount: this.#shardCount }),
        activeRows: () => this.#assignments,
        placementNodes: () => this.#nodes.placementNodes(),
        nodeStatus: (nodeId) => this.#nodes.status(nodeId),
        hold: (shardIds, on) => {
          for (const id of shardIds) if (on) this.#held.add(id);
          else this.#held.delete(id);
        },
        isMoving: (shardId) => this.#moving.has(shardId),
        retired: (rows) => {
          for (const row of rows) this.#assignments.set(row.shardId, row);
          this.#o.onAssignmentsChanged?.();
        },
        promote: (generation, shardCount, rows) => {
          this.#generation = generation;
          this.#shardCount = shardCount;
          this.#assignments = new Map(rows);
          this.#held.clear();
          this.#o.onAssignmentsChanged?.();
        },
        assignmentsChanged: () => this.#o.onAssignmentsChanged?.(),
      },
    });
  }

  /** The active set's generation and shard count. */
  get generation(): number {
    return this.#generation;
  }

  get shardCount(): number {
    return this.#shardCount;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    const now = this.#clock.now();
    this.#startedAt = now;
    this.#lastPersist = 0;
    this.#pendingEvents = [];
    const db = this.#o.db;
    // Written directly: the funnel has only just started, so nothing else commits yet.
    const active = db.transaction(() => {
      const set = ensureActiveSet(db, this.#o.shardCount, now);
      deleteAssignmentsFrom(db, set.shardCount, set.generation);
      appendEvent(db, { at: now, kind: 'takeover', nodeId: this.#o.nodeId, detail: { shardCount: set.shardCount, generation: set.generation } });
      return set;
    });
    this.#generation = active.generation;
    this.#shardCount = active.shardCount;
    if (active.shardCount !== this.#o.shardCount) {
      this.#log.warn({ configured: this.#o.shardCount, running: active.shardCount, generation: active.generation }, 'the cluster runs its recorded shard set, not the configured count: change the count with a reshard (POST /reshard, shardline reshard)');
    }
    this.#assignments = readAssignments(db, active.generation);
    this.#held.clear();
    // Owners of either set count as just seen: a pending set's nodes get the same grace.
    const owners = readAllAssignments(db).flatMap((row) => (row.nodeId ? [row.nodeId] : []));
    this.#nodes.load(readNodes(db), owners, now);
    this.#running = true;
    this.resharder.load(now);
    this.#log.info({ nodes: this.#nodes.size, shards: this.#shardCount, generation: this.#generation }, 'coordinator started on the primary');
    this.#timer = setInterval(() => void this.tick(), this.#o.tickMs ?? 250);
  }

  /** Stops at once: no further writes, no new moves (moves in flight abandon their commit). */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#log.info('coordinator stopped');
  }

  /** Contract 5: only the current epoch of a shard (of its set: the active one when not named) may write. */
  fence(shardId: number, epoch: number, generation?: number): boolean {
    if (generation === undefined || generation === this.#generation) return this.#assignments.get(shardId)?.epoch === epoch;
    return this.resharder.fence(shardId, epoch, generation);
  }

  /** Memory only: the next round persists it. */
  heartbeat(request: HeartbeatRequest): HeartbeatResponse {
    if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Cannot record the heartbeat of ${request.nodeId}: this node's coordinator is not running`);
    const changes = this.#nodes.heartbeat(request, this.#clock.now());
    this.resharder.observe(request);
    for (const change of changes) {
      if (change === 'join' || change === 'rejoin') {
        this.#event(change, request.nodeId, null, { url: request.url, version: request.version });
        // Other nodes find a node's URL in the replicated nodes table: write a newcomer in the next round.
        this.#lastPersist = 0;
        this.#log.info({ nodeId: request.nodeId, url: request.url }, change === 'rejoin' ? 'node is back' : 'node joined');
      } else {
        // Leaving: the shards it runs, all about to move; left: those it still owned, which fail over now.
        const shards = change === 'leave' ? request.shards.length : [...this.#assignments.values()].filter((a) => a.nodeId === request.nodeId).length;
        this.#event(change, request.nodeId, null, { shards });
        this.#log.info({ nodeId: request.nodeId, shards }, change === 'leave' ? 'node is leaving: its shards move elsewhere by resume' : 'node left the cluster');
        // Contract 11: the drain starts now, not at the next tick; after 'left', what it still owned fails over at once.
        void this.tick();
      }
    }
    return { primary: this.#o.nodeId, shardCount: this.#shardCount };
  }

  /** The old primary that handed this one the lease is leaving: drain it now (contract 11). */
  markLeaving(nodeId: string): void {
    if (!this.#running || !this.#nodes.markLeaving(nodeId)) return;
    const shards = [...this.#assignments.values()].filter((a) => a.nodeId === nodeId).length;
    this.#event('leave', nodeId, null, { shards });
    this.#log.info({ nodeId, shards }, 'node is leaving: its shards move elsewhere by resume');
    void this.tick();
  }

  /** Nodes that take shards now (alive, neither draining nor leaving), this one included. */
  liveNodes(): string[] {
    return this.#nodes.placementNodes().filter((n) => n.alive && !n.draining).map((n) => n.id);
  }

  /** Moves this coordinator completed, by reason. */
  movesByReason(): ReadonlyMap<HandoffReason, number> {
    return this.#moved;
  }

  nodeUrl(nodeId: string): string | null {
    return this.#nodes.url(nodeId);
  }

  /**
   * Resolves once the flag is committed and a round has planned with it. A flag the store
   * refuses (a full disk) is not set at all: the caller gets STORE_UNAVAILABLE and nothing moves.
   */
  async setDraining(nodeId: string, draining: boolean): Promise<void> {
    const verb = draining ? 'drain' : 'undrain';
    if (this.#nodes.status(nodeId) === 'unknown') throw new ShardlineError('NOT_FOUND', `Cannot ${verb} node ${nodeId}: no such node`);
    await this.#exclusive(() => {
      if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Cannot ${verb} node ${nodeId}: this node stopped being the primary`);
      try {
        setDraining(this.#o.db, nodeId, draining);
      } catch (error) {
        const code = sqliteErrorCode(error);
        if (code === undefined) throw error;
        throw new ShardlineError('STORE_UNAVAILABLE', `Cannot ${verb} node ${nodeId}: the primary's database refused the write (${code}: ${(error as Error).message})`, { cause: error });
      }
      this.#nodes.setDraining(nodeId, draining);
    });
    this.#event(draining ? 'drain' : 'undrain', nodeId, null, {});
    await this.tick();
  }

  assignments(): ReadonlyMap<number, AssignmentRow> {
    return this.#assignments;
  }

  /**
   * One round: detect deaths, start rebalancing handoffs, and (through exclusive()) persist
   * heartbeats and events and place shards. The interval calls it; the promise settles when
   * this round's writes are committed (or failed and were logged).
   */
  tick(): Promise<void> {
    // A held primary (handing its lease over) writes nothing, so it plans nothing either.
    if (!this.#running || this.#o.writesHeld?.()) return Promise.resolve();
    try {
      const now = this.#clock.now();
      for (const { nodeId, silentMs } of this.#nodes.sweep(now)) {
        this.#event('dead', nodeId, null, { silentMs });
        this.#log.warn({ nodeId, silentMs }, 'node declared dead: its shards fail over');
      }
      this.resharder.tick(now);
      const moves = this.#plan(now);
      const limits = { rebalance: this.#o.maxConcurrentHandoffs ?? 1, drain: this.#o.maxConcurrentDrainMoves ?? 8 };
      const source = (nodeId: string): 'leaving' | 'draining' | 'other' => {
        const status = this.#nodes.status(nodeId);
        return status === 'leaving' || status === 'draining' ? status : 'other';
      };
      // Handoffs wait for the primary to settle too: just after a takeover every node's queued
      // writes arrive and the funnel's thread starts, and a move then takes twice as long (a
      // leaving old primary's shards keep running meanwhile, so waiting costs no gap).
      const handoffs = this.#settled(now) ? pickHandoffs(moves, [...this.#moving.values()].map((m) => m.reason), source, limits) : [];
      for (const { move, reason } of handoffs) {
        void this.#handoff(move.shardId, move.to, reason).catch(() => {});
      }
      if (this.#round) return this.#round;
      if (!this.#roundDue(now, moves)) return Promise.resolve();
    } catch (error) {
      this.#log.error({ err: error }, 'coordinator round failed; retrying next tick');
      return Promise.resolve();
    }
    const round = this.#exclusive(() => this.#writeRound())
      .catch((error: unknown) => this.#log.error({ err: error }, 'coordinator round failed to commit; retrying next tick'))
      .finally(() => {
        if (this.#round === round) this.#round = undefined;
      });
    this.#round = round;
    return round;
  }

  /** The planner's moves that are not already running or waiting for a manual resume. */
  #plan(now: number): Move[] {
    const owners = new Map<number, string | null>();
    const retired = new Set<number>();
    // A shard on its way counts as at its target already, so moves planned in later rounds spread over the least loaded.
    for (let shardId = 0; shardId < this.#shardCount; shardId++) {
      const row = this.#assignments.get(shardId);
      owners.set(shardId, this.#moving.get(shardId)?.to ?? row?.nodeId ?? null);
      if (row?.state === 'retired') retired.add(shardId);
    }
    return planPlacement({ shardCount: this.#shardCount, owners, nodes: this.#nodes.placementNodes(), skip: retired }).filter(
      (m) => !this.#moving.has(m.shardId) && !this.#held.has(m.shardId) && !this.#awaitingResume(m.shardId, now),
    );
  }

  /** Failovers at once; placements once the primary has settled. */
  #immediate(moves: readonly Move[], now: number): Move[] {
    const settled = this.#settled(now);
    return moves.filter((m) => m.kind === 'failover' || (m.kind === 'place' && settled));
  }

  #settled(now: number): boolean {
    return now - this.#startedAt >= (this.#o.settleMs ?? 1_500);
  }

  #roundDue(now: number, moves: readonly Move[]): boolean {
    if (this.#pendingEvents.length > 0 || this.#immediate(moves, now).length > 0) return true;
    return now - this.#lastPersist >= PERSIST_EVERY_MS && this.#nodes.hasDirty();
  }

  /**
   * Runs inside exclusive(): plans again from the state of this moment (a move or a claim may
   * have committed while the round waited), then writes heartbeats, events and the new
   * assignments in one transaction.
   */
  #writeRound(): void {
    if (!this.#running || this.#o.writesHeld?.()) return;
    const db = this.#o.db;
    const now = this.#clock.now();
    const moves = this.#immediate(this.#plan(now), now);
    const persistDue = now - this.#lastPersist >= PERSIST_EVERY_MS;
    const persist = persistDue ? this.#nodes.dirtyRows() : [];
    // A failed commit keeps the rows dirty; they go with the round a second later.
    if (persistDue) this.#lastPersist = now;
    const events = this.#pendingEvents;
    if (moves.length === 0 && persist.length === 0 && events.length === 0) return;
    const rows: AssignmentRow[] = [];
    db.transaction(() => {
      for (const node of persist) upsertNode(db, node);
      for (const event of events) appendEvent(db, event);
      for (const move of moves) {
        const epoch = (this.#assignments.get(move.shardId)?.epoch ?? 0) + 1;
        const row: AssignmentRow = { generation: this.#generation, shardId: move.shardId, nodeId: move.to, epoch, state: 'assigned', updatedAt: now };
        writeAssignment(db, row);
        appendEvent(db, { at: now, kind: move.kind === 'failover' ? 'failover' : 'place', nodeId: move.to, shardId: move.shardId, detail: { from: move.from, epoch } });
        rows.push(row);
      }
    });
    this.#nodes.markPersisted(persist.map((n) => n.id));
    this.#pendingEvents = [];
    if (rows.length > 0) this.#startNewOwners(rows);
  }

  /** Tells the new owners to start; the sessions committed last let them resume. */
  #startNewOwners(rows: readonly AssignmentRow[]): void {
    for (const row of rows) this.#assignments.set(row.shardId, row);
    this.#o.onAssignmentsChanged?.();
    const sessions = resumableSessions(this.#o.db, this.#shardCount, this.#generation);
    for (const row of rows) {
      const resume = sessions.get(row.shardId) ?? null;
      void this.#o.commands.start(row.nodeId!, row.shardId, row.epoch, resume).catch((error: unknown) => {
        this.#log.debug({ err: (error as Error).message, shardId: row.shardId, nodeId: row.nodeId }, 'start request failed; the node reconciles from its replica');
      });
    }
  }

  /** The orchestrated move (contract 6): detach there, commit resume info and epoch together, resume here. */
  move(shardId: number, to: string): Promise<MoveResult> {
    if (!this.#running) return Promise.reject(new ShardlineError('NOT_PRIMARY', `Cannot move shard ${shardId}: this node is not the primary`));
    if (!Number.isInteger(shardId) || shardId < 0 || shardId >= this.#shardCount) {
      return Promise.reject(new ShardlineError('INVALID_INPUT', `Cannot move shard ${shardId}: shard ids run from 0 to ${this.#shardCount - 1}`));
    }
    if (this.#held.has(shardId)) return Promise.reject(new ShardlineError('CONFLICT', `Cannot move shard ${shardId}: its range is switching to the new shard set right now`));
    const target = this.#nodes.status(to);
    if (target !== 'alive') return Promise.reject(new ShardlineError('CONFLICT', `Cannot move shard ${shardId} to ${to}: that node is ${target}`));
    if (this.#moving.has(shardId)) return Promise.reject(new ShardlineError('CONFLICT', `Cannot move shard ${shardId}: a move of it is already running`));
    const from = this.#assignments.get(shardId)?.nodeId;
    if (from === to) return Promise.reject(new ShardlineError('CONFLICT', `Cannot move shard ${shardId} to ${to}: it already runs there`));
    return this.#handoff(shardId, to, 'manual');
  }

  async #handoff(shardId: number, to: string, reason: HandoffReason): Promise<MoveResult> {
    const current = this.#assignments.get(shardId);
    if (!current?.nodeId) throw new ShardlineError('CONFLICT', `Cannot move shard ${shardId}: ${current ? describe(current) : 'it has no owner yet'}`);
    const from = current.nodeId;
    const started = this.#clock.now();
    this.#moving.set(shardId, { to, reason });
    let detached: ResumeInfo | null = null;
    try {
      detached = parseResumeInfo(await this.#o.commands.detach(from, shardId, current.epoch));
      if (detached.shardId !== shardId || detached.shardCount !== this.#shardCount) {
        throw new ShardlineError('CONFLICT', `Cannot move shard ${shardId}: ${from} answered resume info of shard [${detached.shardId}, ${detached.shardCount}]`);
      }
      const detachedAt = this.#clock.now();
      const epoch = current.epoch + 1;
      const row: AssignmentRow = { generation: this.#generation, shardId, nodeId: to, epoch, state: 'assigned', updatedAt: this.#clock.now() };
      await this.#moveCommits.add({ row, resume: detached, event: { kind: 'move', nodeId: to, detail: { from, to, epoch, seq: detached.seq, reason } } });
      const committedAt = this.#clock.now();
      this.#o.onAssignmentsChanged?.();
      await this.#o.commands.start(to, shardId, epoch, detached).catch((error: unknown) => {
        this.#log.warn({ err: (error as Error).message, shardId, to }, 'target did not confirm the start; it reconciles from its replica');
      });
      const result = { shardId, from, to, epoch, seq: detached.seq, tookMs: this.#clock.now() - started };
      this.#moved.set(reason, (this.#moved.get(reason) ?? 0) + 1);
      // Where a move's time goes (the detach includes the old owner's flush): what an operator tunes against.
      const phases = { detachMs: detachedAt - started, commitMs: committedAt - detachedAt, startMs: result.tookMs - (committedAt - started) };
      this.#log.info({ ...result, reason, ...phases }, 'shard moved by resume');
      // A drain has a deadline: its next move takes the freed slot now, not at the next tick
      // (after the finally below has freed it). A failed move waits for the tick, so it cannot spin.
      if (reason === 'leave' || reason === 'drain') queueMicrotask(() => void this.tick());
      return result;
    } catch (error) {
      this.#log.warn({ err: (error as Error).message, shardId, from, to }, 'shard move failed');
      if (detached && !this.#committedMove(shardId, current.epoch)) this.#resumeDetached(from, current.epoch, detached);
      throw error;
    } finally {
      this.#moving.delete(shardId);
    }
  }

  /** Whether this coordinator committed a move of the shard past `epoch` (it knows only its own commits). */
  #committedMove(shardId: number, epoch: number): boolean {
    return (this.#assignments.get(shardId)?.epoch ?? epoch) > epoch;
  }

  /**
   * A move whose commit failed (the store refused it, or this node lost the primary role
   * meanwhile) after its old owner detached the shard: nothing moved, so the old owner resumes
   * its own session at once, rather than holding the shard released until its grace runs out.
   */
  #resumeDetached(from: string, epoch: number, detached: ResumeInfo): void {
    this.#log.info({ shardId: detached.shardId, from, epoch, seq: detached.seq }, 'move not committed: its old owner resumes the shard');
    void this.#o.commands.start(from, detached.shardId, epoch, detached).catch((error: unknown) => {
      this.#log.warn({ err: (error as Error).message, shardId: detached.shardId, from }, 'old owner did not confirm the resume; it resumes after its release grace');
    });
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
    this.#moving.set(shardId, { to: null, reason: null });
    try {
      const detached = parseResumeInfo(await this.#o.commands.detach(owner.nodeId, shardId, owner.epoch));
      if (detached.shardId !== shardId || detached.shardCount !== this.#shardCount) {
        throw new ShardlineError('CONFLICT', `Cannot hand off shard ${shardId}: ${owner.nodeId} answered resume info of shard [${detached.shardId}, ${detached.shardCount}]`);
      }
      const row = await this.#exclusive((): AssignmentRow => {
        if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Handoff of shard ${shardId} abandoned: this node lost the primary role`);
        const row: AssignmentRow = { generation: this.#generation, shardId, nodeId: null, epoch: owner.epoch + 1, state: 'detached', updatedAt: this.#clock.now() };
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
    if (resume.shardId !== shardId || resume.shardCount !== this.#shardCount) {
      throw new ShardlineError('CONFLICT', `${what}: the resume info is for shard [${resume.shardId}, ${resume.shardCount}], the bot runs ${this.#shardCount} shards`);
    }
    const db = this.#o.db;
    // Checked and written in one synchronous step once the store is free, so two claims of
    // the same shard cannot both pass the checks while one waits.
    const row = await this.#exclusive((): AssignmentRow => {
      this.#checkShard(shardId, 'resume');
      const node = this.#nodes.status(nodeId);
      if (node !== 'alive' && node !== 'draining') throw new ShardlineError('CONFLICT', `${what}: that node is ${node === 'unknown' ? 'unknown to the primary' : node}`);
      const current = this.#assignments.get(shardId);
      if (current?.state !== 'detached' || this.#moving.has(shardId)) {
        throw new ShardlineError('CONFLICT', `${what}: it is not detached (${describe(current)})`);
      }
      const committed = listShardSessions(db).find((s) => s.shardId === shardId && s.generation === this.#generation);
      if (!committed || committed.sessionId !== resume.sessionId) {
        throw new ShardlineError('CONFLICT', `${what}: unknown session ${resume.sessionId}${committed ? `; the committed session is ${committed.sessionId}` : '; no session is committed'}`);
      }
      if (resume.seq < committed.seq) {
        throw new ShardlineError('CONFLICT', `${what}: seq ${resume.seq} is behind the committed seq ${committed.seq}`);
      }
      const row: AssignmentRow = { generation: this.#generation, shardId, nodeId, epoch: current.epoch + 1, state: 'assigned', updatedAt: this.#clock.now() };
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
  #commitAssignment(row: AssignmentRow, resume: ResumeInfo, event: AssignmentEvent): void {
    this.#o.db.transaction(() => this.#writeAssignment(row, resume, event));
    this.#assignments.set(row.shardId, row);
  }

  /** The writes of #commitAssignment, inside the caller's transaction. */
  #writeAssignment(row: AssignmentRow, resume: ResumeInfo, event: AssignmentEvent): void {
    const db = this.#o.db;
    this.#applier.commitSession(row.shardId, { sessionId: resume.sessionId, seq: resume.seq, resumeGatewayUrl: resume.resumeGatewayUrl, shardCount: resume.shardCount }, row.updatedAt, row.generation);
    writeAssignment(db, row);
    appendEvent(db, { at: row.updatedAt, kind: event.kind, nodeId: event.nodeId, shardId: row.shardId, detail: event.detail });
  }

  #exclusive<T>(write: () => T): Promise<T> {
    return this.#o.exclusive ? this.#o.exclusive(write) : Promise.resolve().then(write);
  }

  #checkShard(shardId: number, verb: string): void {
    if (!this.#running) throw new ShardlineError('NOT_PRIMARY', `Cannot ${verb} shard ${shardId}: this node's coordinator is not running`);
    if (!Number.isInteger(shardId) || shardId < 0 || shardId >= this.#shardCount) {
      throw new ShardlineError('INVALID_INPUT', `Cannot ${verb} shard ${shardId}: shard ids run from 0 to ${this.#shardCount - 1}`);
    }
    if (this.#held.has(shardId)) throw new ShardlineError('CONFLICT', `Cannot ${verb} shard ${shardId}: its range is switching to the new shard set right now`);
  }

  /** A shard detached by hand stays unplaced until resumed or until its wait is over. */
  #awaitingResume(shardId: number, now: number): boolean {
    const row = this.#assignments.get(shardId);
    return row?.state === 'detached' && now - row.updatedAt < (this.#o.detachedTimeoutMs ?? 60_000);
  }

  /** Buffered for the next round, which writes it in exclusive(). */
  #event(kind: string, nodeId: string | null, shardId: number | null, detail: Record<string, unknown>): void {
    if (this.#pendingEvents.length >= MAX_PENDING_EVENTS) {
      const dropped = this.#pendingEvents.shift();
      this.#log.warn({ kind: dropped?.kind, pending: MAX_PENDING_EVENTS }, 'cluster events are not being committed; dropped the oldest');
    }
    this.#pendingEvents.push({ at: this.#clock.now(), kind, nodeId, shardId, detail });
  }
}

/** The cluster event a change of assignment is recorded with. */
interface AssignmentEvent {
  readonly kind: string;
  readonly nodeId: string;
  readonly detail: Record<string, unknown>;
}

function describe(row: AssignmentRow | undefined): string {
  if (!row) return 'it has no assignment';
  if (row.state === 'detached') return `it is detached at epoch ${row.epoch}, waiting for a resume`;
  if (row.state === 'retired') return `its range switched to the new shard set (retired at epoch ${row.epoch})`;
  return `it is ${row.state} to ${row.nodeId ?? 'nobody'} at epoch ${row.epoch}`;
}

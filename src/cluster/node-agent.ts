import { ShardlineError } from '../core/errors.ts';
import type { Writer } from '../core/mutation.ts';
import type { Logger } from '../core/ports.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { HandledKeys } from '../host/reshard-buffer.ts';
import type { RunnerMode, ShardRunner } from '../host/shard-runner.ts';
import { resumableSessions } from '../store/queries.ts';
import type { HeartbeatRequest, HeartbeatResponse } from './cluster-protocol.ts';
import { lastEventId, readAllAssignments, takeoverSince, type AssignmentRow } from './cluster-tables.ts';
import { heartbeatFailureLevel } from './heartbeat-failure-level.ts';
import { PendingSetRunners } from './pending-set-runners.ts';
import type { NodeRetireResult, RetireRequest, TakeOverRequest } from './reshard-protocol.ts';
import { readLiveSets, shardSetState, type LiveSets } from './shard-sets.ts';

/** How long a handed-off shard may stay assigned here at its old epoch before it is resumed here again. */
export const RELEASE_GRACE_MS = 10_000;

/** A shard this node detached for a move, until it is assigned elsewhere or resumed here. */
interface Released {
  readonly epoch: number;
  readonly at: number;
  readonly info: ResumeInfo | null;
  /** The newest cluster event this node's replica held when it detached (see takeoverSince). */
  readonly eventId: number;
}

export interface NodeAgentOptions {
  readonly nodeId: string;
  readonly version: string;
  readonly startedAt: number;
  /** Where other nodes reach this node's HTTP API. */
  readonly url: () => string;
  /** This node's local database (a replica on LiteFS), read-only. */
  readonly readDb: SqliteDriver;
  /** The configured count: used until the replica names the cluster's active shard set. */
  readonly shardCount: number;
  readonly createRunner: (shardId: number, epoch: number, set?: { generation: number; shardCount: number; mode: RunnerMode }) => ShardRunner;
  /** Reaches the primary: in-process when this node is primary, over HTTP otherwise. */
  readonly heartbeat: (request: HeartbeatRequest) => Promise<HeartbeatResponse>;
  readonly writer: Writer;
  readonly logger: Logger;
  readonly heartbeatMs?: number;
  readonly reconcileMs?: number;
  readonly onRunnersChanged?: () => void;
}

/**
 * Runs on every node. It heartbeats to the primary, and reconciles: the node runs exactly the
 * shards assigned to it at the epoch it read from its local replica (contract 5), resuming
 * from the committed session when there is one. It never decides placement itself.
 */
export class NodeAgent {
  readonly #o: NodeAgentOptions;
  readonly #log: Logger;
  readonly runners = new Map<number, ShardRunner>();
  /** Highest epoch seen per shard (replica rows, start and detach commands): older rows are stale. */
  readonly #known = new Map<number, number>();
  /**
   * Shards this node handed away at an epoch: not restarted until assigned at a higher one,
   * unless the handoff evidently failed (still assigned here at that epoch after a grace), in
   * which case the shard resumes here from the session it was detached with.
   */
  readonly #released = new Map<number, Released>();
  /** The active shard set as this node last read it (contract 13). */
  #generation = 0;
  #shardCount: number;
  /** A reshard's new set, while one runs. */
  #pending: PendingSetRunners | null = null;
  /** While a reshard runs: keys of ids handled by runners this node no longer has (handed away), per shard. */
  readonly #archive = new Map<number, HandledKeys>();
  #tracking = false;
  /** Old shards this node retired for a switch, by epoch: not restarted unless assigned again at a higher one. */
  readonly #retired = new Map<number, number>();
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #reconcileTimer: ReturnType<typeof setInterval> | undefined;
  #heartbeatFailures = 0;
  #reachedPrimary = false;
  #closed = false;
  /** Set by a graceful leave: every heartbeat from then on asks the primary to drain this node. */
  #leaving = false;

  constructor(options: NodeAgentOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'agent' });
    this.#shardCount = options.shardCount;
  }

  /** The active set's shard count (it changes when a reshard is promoted). */
  get shardCount(): number {
    return this.#shardCount;
  }

  get generation(): number {
    return this.#generation;
  }

  /** This node's runners of a reshard's new set. */
  pendingRunners(): ShardRunner[] {
    return [...(this.#pending?.runners.values() ?? [])];
  }

  start(): void {
    this.#heartbeatTimer = setInterval(() => void this.heartbeat(), this.#o.heartbeatMs ?? 1_000);
    this.#reconcileTimer = setInterval(() => this.reconcile(), this.#o.reconcileMs ?? 250);
    void this.heartbeat();
    this.reconcile();
  }

  /** Stops the loops; the shards stay as they are (the host detaches or kills them). */
  stop(): void {
    this.#closed = true;
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    if (this.#reconcileTimer !== undefined) clearInterval(this.#reconcileTimer);
    this.#heartbeatTimer = undefined;
    this.#reconcileTimer = undefined;
  }

  /** From now on, heartbeats ask the primary to move this node's shards away (contract 11). */
  leave(): void {
    this.#leaving = true;
  }

  /**
   * The leave's last word, after the loops stopped and every shard stopped resumably: the
   * primary forgets this node, and whatever it still owned fails over at once (resuming from
   * the sessions just committed) instead of after `nodeTimeout`. True when the primary heard it.
   */
  async announceLeft(): Promise<boolean> {
    try {
      await this.#o.heartbeat({ ...this.#request(), shards: [], leaving: 'left' });
      return true;
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'could not tell the primary this node left; it finds out after nodeTimeout');
      return false;
    }
  }

  /** One heartbeat now; true when the primary acknowledged it. */
  async heartbeat(): Promise<boolean> {
    if (this.#closed) return false;
    const request = this.#request();
    try {
      await this.#o.heartbeat(request);
      if (this.#heartbeatFailures > 0) this.#log.info({ after: this.#heartbeatFailures }, this.#reachedPrimary ? 'heartbeats reach the primary again' : 'heartbeats reach the primary');
      this.#heartbeatFailures = 0;
      this.#reachedPrimary = true;
      return true;
    } catch (error) {
      this.#heartbeatFailures += 1;
      const code = error instanceof ShardlineError ? error.code : undefined;
      const level = heartbeatFailureLevel(this.#heartbeatFailures, code, this.#reachedPrimary);
      const waiting = !this.#reachedPrimary && code === 'NO_PRIMARY';
      this.#log[level](
        { err: (error as Error).message, failures: this.#heartbeatFailures },
        waiting ? 'no primary is known yet; heartbeats wait for one, shards keep running' : 'heartbeat to the primary failed; shards keep running',
      );
      return false;
    }
  }

  #request(): HeartbeatRequest {
    return {
      nodeId: this.#o.nodeId,
      url: this.#o.url(),
      version: this.#o.version,
      startedAt: this.#o.startedAt,
      shards: [...this.runners.values(), ...this.pendingRunners()].map((r) => ({
        shardId: r.shardId,
        epoch: r.epoch,
        status: r.shard.status,
        seq: r.shard.resumeInfo()?.seq ?? null,
        generation: r.generation,
        caughtUp: r.caughtUp,
        closeCode: r.closeCode,
        mode: r.mode,
      })),
      ...(this.#leaving ? { leaving: 'leaving' as const } : {}),
    };
  }

  /** Brings the running shards (of both sets during a reshard) in line with the assignments in the local replica. */
  reconcile(): void {
    if (this.#closed) return;
    let sets: LiveSets;
    let all: AssignmentRow[];
    try {
      sets = readLiveSets(this.#o.readDb);
      all = readAllAssignments(this.#o.readDb);
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'cannot read assignments from the local database');
      return;
    }
    if (sets.active) this.#followActive(sets.active.generation, sets.active.shardCount);
    this.#track(sets.pending !== null);
    this.#reconcileActive(all.filter((row) => row.generation === this.#generation));
    const pending = sets.pending;
    if (pending) {
      if (this.#pending?.generation !== pending.generation) this.#startPendingSet(pending.generation, pending.shardCount);
      this.#pending!.reconcile(all.filter((row) => row.generation === pending.generation), new Set(pending.detail.switched ?? []), Date.now());
    } else if (this.#pending && this.#pending.generation !== this.#generation && shardSetState(this.#o.readDb, this.#pending.generation) !== null) {
      // Gone from the live sets, and not because the set has not replicated here yet: rolled back.
      this.#log.warn({ generation: this.#pending.generation }, 'the reshard was rolled back: closing its shards');
      this.#pending.stopAll();
      this.#pending = null;
    }
  }

  #reconcileActive(rows: readonly AssignmentRow[]): void {
    let sessions: Map<number, ResumeInfo> | null = null;
    for (const row of rows) {
      if (row.shardId >= this.#shardCount) continue;
      const known = this.#known.get(row.shardId) ?? -1;
      if (row.epoch < known) continue;
      this.#known.set(row.shardId, row.epoch);
      const runner = this.runners.get(row.shardId);
      if (row.state === 'retired') {
        // The switch committed without this node's answer (the primary's retire never arrived): stop now.
        if (runner) {
          this.#log.warn({ shardId: row.shardId }, 'shard\'s range switched to the new set without a retire here; stopping it');
          this.runners.delete(row.shardId);
          runner.retire();
          this.#o.onRunnersChanged?.();
        }
        continue;
      }
      if (row.nodeId === this.#o.nodeId) {
        if (runner) {
          runner.epoch = row.epoch;
        } else {
          if (this.#retired.get(row.shardId) === row.epoch) continue;
          const released = this.#released.get(row.shardId);
          const sameEpoch = released !== undefined && released.epoch >= row.epoch;
          // A primary that took over since the detach holds (and so this replica holds) every
          // commit of the one that asked: a move it did not commit was abandoned with it.
          const abandoned = sameEpoch && this.#takenOverSince(released);
          if (sameEpoch && !abandoned && Date.now() - released.at < RELEASE_GRACE_MS) continue;
          if (abandoned) this.#log.warn({ shardId: row.shardId, epoch: row.epoch }, 'the primary that moved this shard was replaced before it committed the move; resuming it here');
          else if (sameEpoch) this.#log.warn({ shardId: row.shardId, epoch: row.epoch }, 'handed-off shard was never reassigned; resuming it here');
          sessions ??= this.#sessions();
          this.#launch(row.shardId, row.epoch, (sameEpoch ? released.info : null) ?? sessions.get(row.shardId) ?? null);
        }
      } else if (runner && row.epoch > runner.epoch) {
        // Reassigned elsewhere (failover or partition): stop at once, write nothing more.
        this.#log.warn({ shardId: row.shardId, epoch: row.epoch, owner: row.nodeId }, 'shard reassigned to another node; stopping it here');
        this.#drop(runner);
      }
    }
    for (const runner of [...this.runners.values()]) {
      if (runner.shardId >= this.#shardCount) this.#drop(runner);
    }
  }

  /** The replica names another active set: the reshard was promoted (its runners become the active ones), or this node is catching up. */
  #followActive(generation: number, shardCount: number): void {
    if (generation === this.#generation) {
      this.#shardCount = shardCount;
      return;
    }
    const pending = this.#pending?.generation === generation ? this.#pending : null;
    for (const runner of this.runners.values()) {
      this.#log.warn({ shardId: runner.shardId, generation: runner.generation }, 'shard of a retired set still ran here; closing it');
      void runner.shard.close({ endSession: true }).catch(() => {});
    }
    this.runners.clear();
    this.#known.clear();
    this.#released.clear();
    this.#retired.clear();
    this.#archive.clear();
    if (pending) {
      for (const [shardId, runner] of pending.runners) this.runners.set(shardId, runner);
      for (const [shardId, epoch] of pending.known) this.#known.set(shardId, epoch);
      this.#pending = null;
    }
    this.#log.info({ generation, shardCount, from: this.#generation }, `the cluster runs shard set ${generation} (${shardCount} shards) now`);
    this.#generation = generation;
    this.#shardCount = shardCount;
    this.#o.onRunnersChanged?.();
  }

  #startPendingSet(generation: number, shardCount: number): void {
    this.#pending?.stopAll();
    this.#pending = new PendingSetRunners({
      nodeId: this.#o.nodeId,
      generation,
      shardCount,
      oldShardCount: this.#shardCount,
      createRunner: (shardId, epoch, mode) => this.#o.createRunner(shardId, epoch, { generation, shardCount, mode }),
      sessions: () => resumableSessions(this.#o.readDb, shardCount, generation),
      logger: this.#log,
      onChanged: () => {
        this.#o.onRunnersChanged?.();
        // The primary switches a group as soon as it hears its shards are ready.
        void this.heartbeat();
      },
    });
    this.#track(true);
  }

  /** While a reshard runs, active runners keep the keys of the ids their handlers see. */
  #track(on: boolean): void {
    if (on === this.#tracking) return;
    this.#tracking = on;
    for (const runner of this.runners.values()) runner.trackHandled(on);
    if (!on) this.#archive.clear();
  }

  /** Primary's prepare: track handled ids from now on (the new set's shards start after every node said so). */
  prepareReshard(generation: number): void {
    this.#log.info({ generation }, 'a reshard starts: keeping the ids handlers see until the switch');
    this.#track(true);
  }

  /**
   * Primary's retire for one switch group: stop the old shards this node owns (epoch given),
   * and answer every key of handled ids it holds for them, its archive included.
   */
  async retireShards(request: RetireRequest): Promise<NodeRetireResult> {
    if (request.generation !== this.#generation) {
      throw new ShardlineError('CONFLICT', `Cannot retire shards of set ${request.generation}: this node runs set ${this.#generation}`);
    }
    const keys = new Set<string>();
    const retired: number[] = [];
    const uncovered: number[] = [];
    for (const { shardId, epoch } of request.shards) {
      const runner = this.runners.get(shardId);
      if (epoch !== null) {
        retired.push(shardId);
        const again = this.#retired.get(shardId) === epoch;
        this.#retired.set(shardId, epoch);
        if (runner && runner.epoch === epoch) {
          this.runners.delete(shardId);
          this.#o.onRunnersChanged?.();
          const result = runner.retire();
          // Kept: a primary that dies before committing the switch makes the next one ask again.
          this.#archiveKeys(runner, result.keys);
          if (result.uncovered) uncovered.push(shardId);
        } else if (!again) {
          uncovered.push(shardId);
        }
      }
      for (const key of this.#archive.get(shardId)?.values() ?? []) keys.add(key);
    }
    return { keys: [...keys], retired, uncovered };
  }

  /** Primary's take-over for a new-set shard whose group switched. */
  async takeOver(request: TakeOverRequest): Promise<void> {
    const pending = this.#pending;
    if (!pending || pending.generation !== request.generation) {
      throw new ShardlineError('CONFLICT', `Cannot take over with shard ${request.shardId} of set ${request.generation}: this node runs no such set`);
    }
    await pending.takeOver(request);
  }

  /** Coordinator's start command: run the shard at `epoch` now, without waiting for replication. */
  startShard(shardId: number, epoch: number, resume: ResumeInfo | null, set?: { generation: number; shardCount: number }): void {
    // A start that reaches a closing node (its HTTP API answers until late in the close) would
    // run a shard that nobody stops: the coordinator places it elsewhere instead.
    if (this.#closed) throw new ShardlineError('CLOSED', `Cannot start shard ${shardId} on ${this.#o.nodeId}: the node is closing`);
    if (set && set.generation !== this.#generation) {
      // The command may come before the new set has replicated here.
      if (this.#pending?.generation !== set.generation) this.#startPendingSet(set.generation, set.shardCount);
      this.#pending!.start(shardId, epoch, resume);
      return;
    }
    if (shardId >= this.#shardCount) throw new ShardlineError('INVALID_INPUT', `Cannot start shard ${shardId}: the shard count is ${this.#shardCount}`);
    const known = this.#known.get(shardId) ?? -1;
    if (epoch < known) throw new ShardlineError('STALE_EPOCH', `Cannot start shard ${shardId} at epoch ${epoch}: epoch ${known} is already known here`);
    this.#known.set(shardId, epoch);
    const runner = this.runners.get(shardId);
    if (runner) {
      runner.epoch = epoch;
      return;
    }
    this.#launch(shardId, epoch, resume);
  }

  /** Coordinator's detach command (a handoff): stop resumably, flush this node's writes, answer the resume info. */
  async detachShard(shardId: number, epoch: number): Promise<ResumeInfo> {
    const runner = this.runners.get(shardId);
    if (!runner) throw new ShardlineError('NOT_FOUND', `Cannot detach shard ${shardId}: it does not run on ${this.#o.nodeId}`);
    if (runner.epoch !== epoch) throw new ShardlineError('STALE_EPOCH', `Cannot detach shard ${shardId} at epoch ${epoch}: it runs here at epoch ${runner.epoch}`);
    // Only a ready shard has a session to hand over; anything else is refused before it is touched
    // (the coordinator asks again later), so a refusal can never leave the shard stopped here.
    if (runner.shard.status !== 'ready' || !runner.shard.resumeInfo()) {
      throw new ShardlineError('CONFLICT', `Cannot hand shard ${shardId} over yet: it is ${runner.shard.status} on ${this.#o.nodeId}`);
    }
    const eventId = this.#lastEventId();
    this.#released.set(shardId, { epoch, at: Date.now(), info: null, eventId });
    let info: ResumeInfo | null;
    try {
      info = await runner.detach({ commit: false });
    } catch (error) {
      this.#released.delete(shardId);
      throw error;
    }
    this.runners.delete(shardId);
    this.#archiveKeys(runner);
    this.#released.set(shardId, { epoch, at: Date.now(), info, eventId });
    this.#o.onRunnersChanged?.();
    if (!info) {
      // Stopped without a session after all: still ours, so the next reconcile starts it again.
      this.#released.delete(shardId);
      throw new ShardlineError('CONFLICT', `Cannot hand shard ${shardId} over: it had no session yet`);
    }
    // Everything this shard wrote at the old epoch must be committed before the new owner writes.
    try {
      await this.#o.writer.flush();
    } catch (error) {
      // No move can follow (a full disk, writes held for a takeover): the shard stays here and
      // resumes at once from the session it was detached with; its writes stay queued in order.
      this.#log.warn({ shardId, epoch, err: (error as Error).message }, 'could not commit the detached shard\'s writes, so it does not move; resuming it here');
      this.#released.delete(shardId);
      this.#launch(shardId, epoch, info);
      throw error;
    }
    return info;
  }

  /** The primary refused this shard's epoch as stale: stop it at once (contract 5). */
  fence(shardId: number, epoch: number, generation?: number): void {
    if (generation !== undefined && generation !== this.#generation) {
      if (this.#pending?.generation === generation) this.#pending.fence(shardId, epoch);
      return;
    }
    const runner = this.runners.get(shardId);
    if (runner && runner.epoch === epoch) this.#drop(runner);
  }

  /** Every runner of both sets. */
  allRunners(): ShardRunner[] {
    return [...this.runners.values(), ...this.pendingRunners()];
  }

  #archiveKeys(runner: ShardRunner, keys: string[] = runner.handledKeys()): void {
    if (!this.#tracking) return;
    if (keys.length === 0) return;
    let archive = this.#archive.get(runner.shardId);
    if (!archive) this.#archive.set(runner.shardId, (archive = new HandledKeys()));
    archive.addAll(keys);
  }

  #launch(shardId: number, epoch: number, resume: ResumeInfo | null): void {
    // A closing node runs nothing new: the host has already stopped the runners it had.
    if (this.#closed) return;
    const runner = this.#o.createRunner(shardId, epoch, { generation: this.#generation, shardCount: this.#shardCount, mode: 'live' });
    runner.trackHandled(this.#tracking);
    this.runners.set(shardId, runner);
    this.#released.delete(shardId);
    this.#o.onRunnersChanged?.();
    this.#log.info({ shardId, epoch, resume: resume ? resume.seq : null }, resume ? 'starting shard by RESUME' : 'starting shard by IDENTIFY');
    runner.start(resume).catch((error: unknown) => {
      this.#log.error({ err: (error as Error).message, shardId }, 'shard failed to start');
    });
  }

  #drop(runner: ShardRunner): void {
    this.runners.delete(runner.shardId);
    this.#archiveKeys(runner);
    runner.fence();
    this.#o.onRunnersChanged?.();
  }

  #lastEventId(): number {
    try {
      return lastEventId(this.#o.readDb);
    } catch {
      // Unreadable for a moment: never taken as a takeover, so the release grace applies.
      return Number.POSITIVE_INFINITY;
    }
  }

  #takenOverSince(released: Released): boolean {
    if (!Number.isFinite(released.eventId)) return false;
    try {
      return takeoverSince(this.#o.readDb, released.eventId);
    } catch {
      return false;
    }
  }

  #sessions(): Map<number, ResumeInfo> {
    return resumableSessions(this.#o.readDb, this.#shardCount, this.#generation);
  }
}

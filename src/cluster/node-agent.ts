import { ShardlineError } from '../core/errors.ts';
import type { Writer } from '../core/mutation.ts';
import type { Logger } from '../core/ports.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { ShardRunner } from '../host/shard-runner.ts';
import { resumableSessions } from '../store/queries.ts';
import type { HeartbeatRequest, HeartbeatResponse } from './cluster-protocol.ts';
import { readAssignments } from './cluster-tables.ts';
import { heartbeatFailureLevel } from './heartbeat-failure-level.ts';

/** How long a handed-off shard may stay assigned here at its old epoch before it is resumed here again. */
export const RELEASE_GRACE_MS = 10_000;

export interface NodeAgentOptions {
  readonly nodeId: string;
  readonly version: string;
  readonly startedAt: number;
  /** Where other nodes reach this node's HTTP API. */
  readonly url: () => string;
  /** This node's local database (a replica on LiteFS), read-only. */
  readonly readDb: SqliteDriver;
  readonly shardCount: number;
  readonly createRunner: (shardId: number, epoch: number) => ShardRunner;
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
  readonly #released = new Map<number, { epoch: number; at: number; info: ResumeInfo | null }>();
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
      shards: [...this.runners.values()].map((r) => ({ shardId: r.shardId, epoch: r.epoch, status: r.shard.status, seq: r.shard.resumeInfo()?.seq ?? null })),
      ...(this.#leaving ? { leaving: 'leaving' as const } : {}),
    };
  }

  /** Brings the running shards in line with the assignments in the local replica. */
  reconcile(): void {
    if (this.#closed) return;
    let rows;
    try {
      rows = readAssignments(this.#o.readDb);
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'cannot read assignments from the local database');
      return;
    }
    let sessions: Map<number, ResumeInfo> | null = null;
    for (const row of rows.values()) {
      if (row.shardId >= this.#o.shardCount) continue;
      const known = this.#known.get(row.shardId) ?? -1;
      if (row.epoch < known) continue;
      this.#known.set(row.shardId, row.epoch);
      const runner = this.runners.get(row.shardId);
      if (row.nodeId === this.#o.nodeId) {
        if (runner) {
          runner.epoch = row.epoch;
        } else {
          const released = this.#released.get(row.shardId);
          const sameEpoch = released !== undefined && released.epoch >= row.epoch;
          if (sameEpoch && Date.now() - released.at < RELEASE_GRACE_MS) continue;
          if (sameEpoch) this.#log.warn({ shardId: row.shardId, epoch: row.epoch }, 'handed-off shard was never reassigned; resuming it here');
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
      if (runner.shardId >= this.#o.shardCount) this.#drop(runner);
    }
  }

  /** Coordinator's start command: run the shard at `epoch` now, without waiting for replication. */
  startShard(shardId: number, epoch: number, resume: ResumeInfo | null): void {
    if (shardId >= this.#o.shardCount) throw new ShardlineError('INVALID_INPUT', `Cannot start shard ${shardId}: the shard count is ${this.#o.shardCount}`);
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
    this.#released.set(shardId, { epoch, at: Date.now(), info: null });
    let info: ResumeInfo | null;
    try {
      info = await runner.detach({ commit: false });
    } catch (error) {
      this.#released.delete(shardId);
      throw error;
    }
    this.runners.delete(shardId);
    this.#released.set(shardId, { epoch, at: Date.now(), info });
    this.#o.onRunnersChanged?.();
    if (!info) {
      // Stopped without a session after all: still ours, so the next reconcile starts it again.
      this.#released.delete(shardId);
      throw new ShardlineError('CONFLICT', `Cannot hand shard ${shardId} over: it had no session yet`);
    }
    // Everything this shard wrote at the old epoch must be committed before the new owner writes.
    await this.#o.writer.flush();
    return info;
  }

  /** The primary refused this shard's epoch as stale: stop it at once (contract 5). */
  fence(shardId: number, epoch: number): void {
    const runner = this.runners.get(shardId);
    if (runner && runner.epoch === epoch) this.#drop(runner);
  }

  #launch(shardId: number, epoch: number, resume: ResumeInfo | null): void {
    const runner = this.#o.createRunner(shardId, epoch);
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
    runner.fence();
    this.#o.onRunnersChanged?.();
  }

  #sessions(): Map<number, ResumeInfo> {
    return resumableSessions(this.#o.readDb, this.#o.shardCount);
  }
}

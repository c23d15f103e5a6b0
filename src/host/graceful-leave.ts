import { raceAbort, sleep } from '../core/abort.ts';
import type { Logger } from '../core/ports.ts';

/** How the leave ended. */
export type LeaveOutcome =
  /** Every shard moved away by resume and the writes are acknowledged. */
  | 'left'
  /** The deadline passed first: what still ran was detached resumably and its sessions committed. */
  | 'deadline'
  /** A second signal: the node stops at once (detach and commit, as a plain stop). */
  | 'interrupted'
  /** No other live node to leave to: a plain stop. */
  | 'alone'
  /** The embedded single node: a plain stop. */
  | 'embedded'
  /** The host was not running (still starting, or stopping already): a plain stop. */
  | 'not-running'
  /** Turned off (a timeout of 0): a plain stop; the primary fails the shards over after nodeTimeout. */
  | 'off';

export interface LeaveReport {
  readonly outcome: LeaveOutcome;
  readonly tookMs: number;
  /** Shards that ran here when the leave began. */
  readonly shards: number;
  /** Shards still running here when the moves ended (detached resumably, unless interrupted). */
  readonly leftover: number;
  /** From the start of the leave to the new primary running the coordinator; null when this node was not primary or kept the lease. */
  readonly primaryHandoffMs: number | null;
  readonly newPrimary: string | null;
}

/** What /metrics and /status show while a node leaves. */
export interface LeaveProgress {
  readonly startedAt: number;
  readonly phase: 'lease' | 'drain' | 'stopping';
  readonly shards: number;
  readonly remaining: number;
}

/** The node a leave works on (the Host gives a view of its parts). */
export interface LeaveInputs {
  readonly nodeId: string;
  readonly logger: Logger;
  /** The embedded single node: nobody to leave to. */
  readonly embedded: boolean;
  /** This node runs the primary role (its coordinator) now. */
  isPrimary(): boolean;
  /** Nodes that take shards now, as this node knows them (this one may be among them). */
  liveNodes(): string[];
  /** Asks `nodeId` to take the lease and drain this node; resolves once its coordinator runs, throws if it cannot. */
  takeover(nodeId: string, timeoutMs: number): Promise<void>;
  /** From now on the agent's heartbeats ask the primary to drain this node. */
  markLeaving(): void;
  /** One heartbeat now; true when the primary acknowledged it. */
  heartbeat(): Promise<boolean>;
  /** Shards running here (not yet detached). */
  runningShards(): number;
  /** Shards the assignments (as this node's replica has them) still give this node: a move is done once its commit names the new owner. */
  ownedShards(): number;
  /**
   * Stops the agent's loops, detaches whatever still runs resumably and flushes this node's
   * writes (bounded): afterwards the primary has every session this node will ever commit.
   */
  stopShards(): Promise<void>;
  /** The last heartbeat: this node is gone. */
  announceLeft(): Promise<boolean>;
}

/** Longest single takeover attempt: LiteFS hands the lease over in well under a second. */
const TAKEOVER_TIMEOUT_MS = 10_000;
/** Poll interval while the shards move: a move takes tens of milliseconds. */
const POLL_MS = 25;

/**
 * Contract 11, a node told to stop while others live: it hands the lease on if it holds it,
 * has the primary drain it by resume (every shard moves, several at once, to the least loaded
 * nodes), and returns once it runs no shard and its writes are acknowledged, or at the
 * deadline with the rest detached resumably, or at once when `signal` (a second signal) aborts.
 * The host closes afterwards.
 */
export class GracefulLeave {
  readonly #i: LeaveInputs;
  readonly #log: Logger;
  #progress: LeaveProgress | null = null;

  constructor(inputs: LeaveInputs) {
    this.#i = inputs;
    this.#log = inputs.logger.child({ component: 'leave' });
  }

  get progress(): LeaveProgress | null {
    return this.#progress ? { ...this.#progress, remaining: this.#i.runningShards() } : null;
  }

  async run(options: { timeoutMs: number; signal?: AbortSignal }): Promise<LeaveReport> {
    const started = Date.now();
    const shards = this.#i.runningShards();
    const report = (outcome: LeaveOutcome, extra: Partial<LeaveReport> = {}): LeaveReport => ({
      outcome,
      tookMs: Date.now() - started,
      shards,
      leftover: this.#i.runningShards(),
      primaryHandoffMs: null,
      newPrimary: null,
      ...extra,
    });
    if (this.#i.embedded) return report('embedded');
    if (options.timeoutMs <= 0) {
      this.#log.info({ shards }, 'graceful leave is off (a leave timeout of 0): a plain stop; shards detach resumably and fail over after nodeTimeout');
      return report('off');
    }
    const others = this.#i.liveNodes().filter((id) => id !== this.#i.nodeId);
    if (others.length === 0) {
      this.#log.warn({ shards }, 'no other live node to leave to: stopping as a plain stop (shards detach resumably; the next node to start resumes them)');
      return report('alone');
    }
    // One controller for the deadline and the second signal, its timer cleared on the way out.
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), Math.max(0, options.timeoutMs));
    const interrupt = (): void => stop.abort();
    options.signal?.addEventListener('abort', interrupt, { once: true });
    if (options.signal?.aborted) stop.abort();
    try {
      this.#progress = { startedAt: started, phase: 'lease', shards, remaining: shards };
      this.#log.info({ shards, others, timeoutMs: options.timeoutMs }, 'leaving the cluster: the lease and every shard move to other nodes by resume');
      // A primary hands the lease on first: its own coordinator must not start draining it
      // while the lease moves (the new one drains it, told so with the takeover).
      const lease = this.#i.isPrimary() ? await this.#handOverLease(others, started, stop.signal) : null;
      this.#i.markLeaving();
      this.#progress = { ...this.#progress, phase: 'drain' };
      await this.#drain(stop.signal);
      const interrupted = options.signal?.aborted ?? false;
      const outcome: LeaveOutcome = this.#i.runningShards() === 0 ? 'left' : interrupted ? 'interrupted' : 'deadline';
      const leftover = this.#i.runningShards();
      if (outcome === 'interrupted') {
        this.#log.warn({ leftover, tookMs: Date.now() - started }, 'second signal: stopping at once (shards detach resumably and their sessions are committed)');
        return report(outcome, { leftover, primaryHandoffMs: lease?.ms ?? null, newPrimary: lease?.to ?? null });
      }
      if (outcome === 'deadline') this.#log.warn({ leftover, timeoutMs: options.timeoutMs }, 'leave deadline passed: the shards still here detach resumably, and fail over by resume');
      this.#progress = { ...this.#progress, phase: 'stopping' };
      await this.#i.stopShards();
      const told = await this.#i.announceLeft();
      const result = report(outcome, { leftover, primaryHandoffMs: lease?.ms ?? null, newPrimary: lease?.to ?? null });
      this.#log.info({ ...result, primaryTold: told }, outcome === 'left' ? 'left the cluster: every shard moved by resume' : 'left the cluster after its deadline');
      return result;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', interrupt);
    }
  }

  /** Tries the other nodes in turn; null when none would take the lease (this node then coordinates its own drain). */
  async #handOverLease(others: readonly string[], started: number, signal: AbortSignal): Promise<{ to: string; ms: number } | null> {
    for (const target of others) {
      if (signal.aborted) return null;
      try {
        await raceAbort(this.#i.takeover(target, TAKEOVER_TIMEOUT_MS), signal);
      } catch (error) {
        if (signal.aborted) return null;
        if (this.#i.isPrimary()) {
          this.#log.warn({ err: (error as Error).message, target }, 'that node could not take the lease; trying the next');
          continue;
        }
        // The lease moved although the answer was lost: the node took over.
      }
      // The new primary's coordinator runs; wait until this node's own role has stopped too,
      // so that no heartbeat of the leave reaches the coordinator that is going away.
      while (this.#i.isPrimary() && !signal.aborted) await sleep(POLL_MS, signal).catch(() => {});
      const ms = Date.now() - started;
      this.#log.info({ to: target, tookMs: ms }, 'handed the lease over: the coordinator runs on the new primary; this node goes on as a replica');
      return { to: target, ms };
    }
    this.#log.warn({ others }, 'no other node took the lease: this node drains itself and releases the lease when it stops');
    return null;
  }

  /** Until no shard runs here nor is assigned here, or `signal` aborts; heartbeats until the primary has heard of the leave. */
  async #drain(signal: AbortSignal): Promise<void> {
    let heard = false;
    while ((this.#i.runningShards() > 0 || this.#i.ownedShards() > 0) && !signal.aborted) {
      if (!heard) heard = await this.#i.heartbeat();
      await sleep(heard ? POLL_MS : 4 * POLL_MS, signal).catch(() => {});
    }
  }
}

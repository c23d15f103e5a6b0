import { sleep } from '../core/abort.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Leadership } from '../core/leadership.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { ClusterClient } from '../cluster/cluster-client.ts';
import { readAssignments } from '../cluster/cluster-tables.ts';
import type { PrimaryRole } from '../cluster/primary-role.ts';
import type { ControlOperations, DrainReport, MoveReport, PrimaryOperations, ResumeResult, TakeoverResult } from '../control/control-operations.ts';
import type { MetricsSnapshot } from '../control/metrics.ts';
import type { LeaveProgress } from './graceful-leave.ts';
import type { ShardRunner } from './shard-runner.ts';
import type { ReshardStarted } from '../cluster/resharder.ts';
import type { ReshardBody } from '../cluster/reshard-protocol.ts';
import { reshardView, type ReshardView } from '../cluster/reshard-view.ts';

/** How long a takeover holds the old primary's writes: LiteFS hands the lease over in well under a second. */
const WRITE_HOLD_MS = 5_000;

/** What the operations need from their node (the Host gives a view of its internals). */
export interface HostView {
  readonly nodeId: string;
  /** Aborts when the node closes. */
  readonly signal: AbortSignal;
  readonly leadership: Leadership;
  primary(): PrimaryRole | null;
  shardCount(): number;
  /** The active shard set's generation. */
  generation(): number;
  runner(shardId: number): ShardRunner | undefined;
  runners(): ShardRunner[];
  /** This node's shards of a reshard's new set. */
  pendingRunners(): ShardRunner[];
  readDb(): SqliteDriver | null;
  forwarderStats(): MetricsSnapshot['forwarder'];
  queryStats(): MetricsSnapshot['queries'];
  botQueryStats(): MetricsSnapshot['botQueries'];
  loopStats(): MetricsSnapshot['eventLoop'];
  restStatus(): MetricsSnapshot['rest'];
  primaryUrl(): string | null;
  urlOf(nodeId: string): string;
  client(): ClusterClient;
  primaryOrThrow(what: string): PrimaryRole;
  /** The graceful leave under way, if any. */
  leave(): LeaveProgress | null;
  /** Why this node will not take the lease from a leaving primary now (it is leaving or stopping itself); null when it will. */
  refusesLease(): string | null;
}

/**
 * The control plane's operations on one node (takeover, handoff, resume, move, drain,
 * metrics). Operations that change assignments run on the primary; a replica asks the
 * primary over /internal (with the cluster secret) and reports the primary's answer.
 */
export class HostOperations {
  readonly #h: HostView;

  constructor(view: HostView) {
    this.#h = view;
  }


  /** The operations the HTTP API serves; see src/control/control-operations.ts. */
  controlOperations(): ControlOperations & PrimaryOperations {
    return {
      shardCount: () => this.#h.shardCount(),
      takeover: (options) => this.takeover(options),
      handoff: (shardId) => this.handoffShard(shardId),
      resume: (shardId, info) => this.resumeShard(shardId, info),
      move: (shardId, to, options) => this.moveShard(shardId, to, options),
      drain: (nodeId, draining, options) => this.drainNode(nodeId, draining, options),
      metrics: () => this.metricsSnapshot(),
      releaseShard: async (request) => {
        const coordinator = this.#h.primaryOrThrow(`hand off shard ${request.shardId}`).coordinator;
        return (await coordinator.releaseForManualHandoff(request.shardId, { nodeId: request.nodeId, epoch: request.epoch })).resume;
      },
      claimShard: (request) => this.#h.primaryOrThrow(`resume shard ${request.shardId}`).coordinator.claimResume(request.shardId, request.nodeId, request.resume),
      setDraining: (nodeId, draining) => this.#h.primaryOrThrow(`${draining ? 'drain' : 'undrain'} ${nodeId}`).coordinator.setDraining(nodeId, draining),
      shardStats: (shardId) => this.#h.runner(shardId)?.stats() ?? null,
      holdWrites: async (holdMs) => ({ heldMs: await this.#h.primaryOrThrow('hold writes').holdWrites(holdMs) }),
      takeoverForPeer: async ({ timeoutMs, leaving }) => {
        const refused = this.#h.refusesLease();
        if (refused) throw new ShardlineError('CONFLICT', `Cannot take the lease over from ${leaving}: ${refused}`);
        const result = await this.takeover({ timeoutMs });
        this.#h.primary()?.coordinator.markLeaving(leaving);
        return result;
      },
      reshard: { start: (body) => this.startReshard(body), view: () => this.reshardView() },
    };
  }

  /** POST /reshard: on the primary its Resharder starts (or refuses, changing nothing); a replica forwards it once. */
  startReshard(body: ReshardBody): Promise<ReshardStarted> {
    const primary = this.#h.primary();
    if (primary) return primary.coordinator.resharder.start({ shardCount: body.shardCount, trigger: body.via });
    return this.#callPrimary<ReshardStarted>('start a reshard', '/internal/reshard/start', body, 60_000);
  }

  /** The running (or last) reshard from this node's tables, with what the primary (or this node) knows of the new shards. */
  reshardView(): ReshardView | null {
    const db = this.#h.readDb();
    if (!db) return null;
    const resharder = this.#h.primary()?.coordinator.resharder;
    const local = new Map(this.#h.pendingRunners().map((r) => [`${r.generation}:${r.shardId}`, r]));
    try {
      return reshardView(db, (shardId, generation) => {
        const report = resharder?.report(generation, shardId);
        if (report) return report;
        const runner = local.get(`${generation}:${shardId}`);
        return runner ? { status: runner.shard.status, caughtUp: runner.caughtUp } : null;
      });
    } catch {
      // A database that has not migrated (or replicated the migration) yet.
      return null;
    }
  }

  /** POST /takeover: this node becomes the primary (LiteFS promote), and its coordinator runs. */
  async takeover(options: { timeoutMs?: number } = {}): Promise<TakeoverResult> {
    const started = Date.now();
    const timeoutMs = options.timeoutMs ?? 15_000;
    // LiteFS exits on the old primary if the lease moves while a transaction there commits:
    // the primary holds its writes first (best effort: a dead primary cannot, and needs not).
    const held = !this.#h.leadership.current().isPrimary && (await this.#holdPrimaryWrites(WRITE_HOLD_MS));
    let promoted: Awaited<ReturnType<Leadership['promote']>>;
    try {
      promoted = await this.#h.leadership.promote({ signal: this.#h.signal, timeoutMs });
    } catch (error) {
      // The lease did not move: the primary may write again at once.
      if (held) void this.#holdPrimaryWrites(0);
      throw error;
    }
    // The role is applied after LiteFS reports it (migrations, funnel, coordinator): wait for that too.
    while (!this.#h.primary()?.coordinator.running) {
      if (Date.now() - started > timeoutMs) {
        throw new ShardlineError('TIMEOUT', `Node ${this.#h.nodeId} is the LiteFS primary but its coordinator was not running after ${timeoutMs} ms`);
      }
      await sleep(20, this.#h.signal);
    }
    return { tookMs: Date.now() - started, alreadyPrimary: promoted.alreadyPrimary, primary: this.#h.nodeId };
  }

  /** POST /shards/:id/handoff: detaches a shard running here; the primary marks it 'detached'. */
  async handoffShard(shardId: number): Promise<ResumeInfo> {
    const runner = this.#h.runner(shardId);
    if (!runner) throw new ShardlineError('NOT_FOUND', `Cannot hand off shard ${shardId}: it does not run on ${this.#h.nodeId}${this.#ownerHint(shardId)}`);
    // Checked before anything stops: a shard without a session cannot be resumed elsewhere.
    if (runner.shard.status !== 'ready') throw new ShardlineError('CONFLICT', `Cannot hand off shard ${shardId}: it is ${runner.shard.status} on ${this.#h.nodeId}, not ready`);
    const owner = { nodeId: this.#h.nodeId, epoch: runner.epoch };
    const primary = this.#h.primary();
    if (primary) return (await primary.coordinator.releaseForManualHandoff(shardId, owner)).resume;
    return this.#callPrimary<ResumeInfo>(`hand off shard ${shardId}`, `/internal/shards/${shardId}/release`, owner, 60_000);
  }

  /** POST /shards/:id/resume: runs a 'detached' shard here by RESUME from `info`. */
  async resumeShard(shardId: number, info: ResumeInfo): Promise<ResumeResult> {
    const running = this.#h.runner(shardId);
    if (running) throw new ShardlineError('CONFLICT', `Cannot resume shard ${shardId}: it already runs on ${this.#h.nodeId} at epoch ${running.epoch}`);
    const primary = this.#h.primary();
    if (primary) return primary.coordinator.claimResume(shardId, this.#h.nodeId, info);
    return this.#callPrimary<ResumeResult>(`resume shard ${shardId}`, `/internal/shards/${shardId}/claim`, { nodeId: this.#h.nodeId, resume: info }, 30_000);
  }

  /** POST /shards/:id/move: the orchestrated handoff on the primary; a replica forwards it once. */
  async moveShard(shardId: number, to: string, options: { forwarded?: boolean } = {}): Promise<MoveReport> {
    const primary = this.#h.primary();
    if (primary) {
      const started = Date.now();
      const result = await primary.coordinator.move(shardId, to);
      const gapMs = await this.#resumedAfter(shardId, to, started);
      return gapMs === null ? result : { ...result, gapMs };
    }
    if (options.forwarded) this.#h.primaryOrThrow(`move shard ${shardId}`);
    return this.#callPrimary<MoveReport>(`move shard ${shardId}`, `/internal/shards/${shardId}/move`, { to }, 90_000);
  }

  /**
   * POST /nodes/:id/drain and /undrain: sets the flag on the primary, then (draining) waits
   * up to `waitMs` until no shard is assigned to the node; `done: false` when time ran out.
   */
  async drainNode(nodeId: string, draining: boolean, options: { waitMs?: number } = {}): Promise<DrainReport> {
    const started = Date.now();
    const primary = this.#h.primary();
    if (primary) await primary.coordinator.setDraining(nodeId, draining);
    else await this.#callPrimary(`${draining ? 'drain' : 'undrain'} ${nodeId}`, `/internal/nodes/${nodeId}/drain`, { draining });
    const waitMs = draining ? (options.waitMs ?? 30_000) : 0;
    for (;;) {
      const shards = this.#assignedTo(nodeId);
      const done = !draining || shards.length === 0;
      if (done || Date.now() - started >= waitMs) return { node: nodeId, draining, shards, done, tookMs: Date.now() - started };
      await sleep(Math.min(100, waitMs), this.#h.signal);
    }
  }

  /** What GET /metrics reads at scrape time (no database access). */
  metricsSnapshot(): MetricsSnapshot {
    const role = this.#h.leadership.current();
    const primary = this.#h.primary();
    return {
      role: role.isPrimary ? 'primary' : role.known ? 'replica' : 'unknown',
      shards: this.#h.runners().map((r) => r.stats()),
      funnel: primary ? primary.funnel.stats() : null,
      forwarder: this.#h.forwarderStats(),
      queries: this.#h.queryStats(),
      botQueries: this.#h.botQueryStats(),
      eventLoop: this.#h.loopStats(),
      identify: primary?.budget?.snapshot() ?? null,
      leave: this.#h.leave(),
      moves: primary?.running ? Object.fromEntries(primary.coordinator.movesByReason()) : null,
      rest: this.#h.restStatus(),
      shardSet: { generation: this.#h.generation(), shardCount: this.#h.shardCount() },
      reshard: this.reshardView(),
    };
  }

  /** Asks the primary to hold (or with 0 release) its writes; false when it could not be asked. */
  async #holdPrimaryWrites(holdMs: number): Promise<boolean> {
    try {
      await this.#callPrimary('hold the primary\'s writes', '/internal/primary/hold-writes', { holdMs }, 2_000);
      return true;
    } catch {
      return false;
    }
  }

  #callPrimary<T>(what: string, path: `/internal/${string}`, body: unknown, timeoutMs?: number): Promise<T> {
    const url = this.#h.primaryUrl();
    if (!url) {
      const primary = this.#h.leadership.current().primary;
      const why = primary ? `the primary is ${primary} but its URL has not replicated to ${this.#h.nodeId} yet; retry in a moment` : 'no primary is known (LiteFS has not named one)';
      return Promise.reject(new ShardlineError('NO_PRIMARY', `Cannot ${what}: ${why}`, { details: { primary } }));
    }
    return this.#h.client().call<T>(url, path, body, timeoutMs);
  }

  #assignedTo(nodeId: string): number[] {
    const primary = this.#h.primary();
    const db = this.#h.readDb();
    const rows = primary ? [...primary.coordinator.assignments().values()] : db ? [...readAssignments(db).values()] : [];
    return rows.filter((r) => r.nodeId === nodeId).map((r) => r.shardId).sort((a, b) => a - b);
  }

  #ownerHint(shardId: number): string {
    const db = this.#h.readDb();
    const row = this.#h.primary()?.coordinator.assignments().get(shardId) ?? (db ? readAssignments(db).get(shardId) : undefined);
    if (!row) return '';
    return row.nodeId ? `; it is assigned to ${row.nodeId}` : `; it is ${row.state}`;
  }

  /** The new owner's RESUMED time minus `since`, or null if it was not ready within 5 s. */
  async #resumedAfter(shardId: number, nodeId: string, since: number): Promise<number | null> {
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      let stats: { status: string; readySince: number | null } | null = null;
      if (nodeId === this.#h.nodeId) stats = this.#h.runner(shardId)?.stats() ?? null;
      else {
        try {
          stats = await this.#h.client().call(this.#h.urlOf(nodeId), `/internal/shards/${shardId}/stats`, {}, 2_000);
        } catch {
          stats = null;
        }
      }
      if (stats?.status === 'ready' && stats.readySince !== null && stats.readySince >= since) return stats.readySince - since;
      await sleep(25, this.#h.signal).catch(() => {});
      if (this.#h.signal.aborted) return null;
    }
    return null;
  }
}

/**
 * The last few minutes of a node, sampled every few seconds for the dashboard's charts: every
 * shard's committed seq and owner (from the replicated tables, so any node sees the whole
 * cluster), this node's write funnel or forwarding queue, and how far its copy of the database
 * trails the newest commit. Memory is bounded (a ring of `keep` samples).
 */
import type { MetricsSample } from '../control/dashboard/chart-model.ts';
import type { Logger } from '../core/ports.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { HostStatus } from './host-status.ts';

export interface MetricsHistoryOptions {
  /** This node's status (assignments, funnel, forwarder). */
  status(): HostStatus;
  /** shard_sessions as this node can read it; null while its database is not open. */
  sessions(): readonly { shardId: number; sessionId: string; seq: number; updatedAt: number }[] | null;
  readonly logger: Logger;
  /** Default 2 s. */
  readonly intervalMs?: number;
  /** Samples kept; default 150 (five minutes at 2 s). */
  readonly keep?: number;
  readonly now?: () => number;
}

export class MetricsHistory {
  readonly #o: MetricsHistoryOptions;
  readonly #samples: MetricsSample[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: MetricsHistoryOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sample(), this.#o.intervalMs ?? 2_000);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  samples(): readonly MetricsSample[] {
    return [...this.#samples];
  }

  /** Takes one sample now (the timer calls this; a failure to read skips the sample). */
  sample(): void {
    const now = (this.#o.now ?? Date.now)();
    let status: HostStatus;
    let sessions: ReturnType<MetricsHistoryOptions['sessions']>;
    try {
      status = this.#o.status();
      sessions = this.#o.sessions();
    } catch (error) {
      this.#o.logger.debug({ err: (error as Error).message }, 'dashboard sample skipped');
      return;
    }
    if (sessions === null) return;
    const newest = sessions.reduce((max, s) => Math.max(max, s.updatedAt), 0);
    const funnel = status.funnel;
    this.#samples.push({
      at: now,
      seqs: new Map(sessions.map((s) => [s.shardId, { sessionId: s.sessionId, seq: s.seq }])),
      owners: new Map(status.assignments.flatMap((a) => (a.nodeId === null ? [] : [[a.shardId, a.nodeId] as const]))),
      funnel: funnel ? { queuedRows: funnel.queuedRows, transactions: funnel.transactions, totalFlushMs: funnel.totalFlushMs } : null,
      forwarderQueuedRows: status.forwarder?.queuedRows ?? null,
      stalenessMs: newest > 0 ? Math.max(0, now - newest) : null,
    });
    const keep = this.#o.keep ?? 150;
    if (this.#samples.length > keep) this.#samples.splice(0, this.#samples.length - keep);
  }
}

/** shard_sessions as `db` reads it now. */
export function readSessionRows(db: SqliteDriver): { shardId: number; sessionId: string; seq: number; updatedAt: number }[] {
  // The active shard set's sessions only: during a reshard the new set's share the shard ids.
  return db.prepare("SELECT shard_id, session_id, seq, updated_at FROM shard_sessions WHERE generation = coalesce((SELECT generation FROM shard_sets WHERE state = 'active' ORDER BY generation DESC LIMIT 1), 0)").values().map((r) => ({ shardId: Number(r[0]), sessionId: String(r[1]), seq: Number(r[2]), updatedAt: Number(r[3]) }));
}

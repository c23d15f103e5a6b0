import { ShardlineError } from '../core/errors.ts';
import { IdentifyBudget, type IdentifyDecision, type SessionStartLimit } from '../core/identify-budget.ts';
import type { WriteEntry } from '../core/mutation.ts';
import type { Logger } from '../core/ports.ts';
import type { SqliteDriver, SqliteDriverFactory } from '../core/sqlite.ts';
import { runMigrations } from '../store/migrate.ts';
import { BESIDE_THREAD_WAL_AUTOCHECKPOINT_PAGES, openDatabase } from '../store/open-database.ts';
import type { TransactionWorkerFactory } from '../core/transaction-worker.ts';
import { WorkerWriteFunnel } from '../store/worker-write-funnel.ts';
import { WriteFunnel, type WriteFunnelOptions } from '../store/write-funnel.ts';
import type { IdentifyRequest } from './cluster-protocol.ts';
import { recordIdentify } from './cluster-tables.ts';
import { Coordinator, type CoordinatorOptions } from './coordinator.ts';
import type { ForwardResult } from './forwarding-writer.ts';
import { WriteHold, holdableDriver } from './write-hold.ts';

/** Added to Discord's identify spacing per bucket: covers the skew between granting and sending. */
export const IDENTIFY_MARGIN_MS = 250;

export interface PrimaryRoleOptions {
  readonly nodeId: string;
  readonly databasePath: string;
  readonly driverFactory: SqliteDriverFactory;
  readonly flushIntervalMs: number;
  readonly funnelTuning?: Partial<Pick<WriteFunnelOptions, 'flushThresholdRows' | 'highWaterRows' | 'retryBaseMs' | 'retryMaxMs'>>;
  readonly sessionStartLimit: SessionStartLimit;
  readonly identifySpacingMs: number;
  readonly coordinator: Omit<CoordinatorOptions, 'db' | 'nodeId' | 'logger'>;
  readonly logger: Logger;
  /** An entry went stale between enqueue and commit: its shard must stop. */
  readonly onStale?: (shardId: number, epoch: number, generation?: number) => void;
  /** Given: the funnel commits on these threads' own connections (the coordinator keeps this one). */
  readonly transactionWorkers?: TransactionWorkerFactory;
}

/**
 * Everything only the primary does, alive exactly while this node holds the lease: the
 * writable connection, migrations, the write funnel, the coordinator and the identify budget.
 * `stop()` ends all of it at once and hands back the writes the funnel had not committed.
 */
export class PrimaryRole {
  readonly #o: PrimaryRoleOptions;
  readonly #log: Logger;
  #db: SqliteDriver | null = null;
  #funnel: WriteFunnel | WorkerWriteFunnel | null = null;
  #coordinator: Coordinator | null = null;
  #budget: IdentifyBudget | null = null;
  readonly #hold = new WriteHold();
  /** Entries other nodes forwarded: if the role is lost before they commit, their senders send them again. */
  readonly #forwarded = new WeakSet<WriteEntry>();
  #lost = false;

  constructor(options: PrimaryRoleOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'primary' });
  }

  get funnel(): WriteFunnel | WorkerWriteFunnel {
    if (!this.#funnel) throw new ShardlineError('NOT_PRIMARY', 'This node is not acting as the primary');
    return this.#funnel;
  }

  get coordinator(): Coordinator {
    if (!this.#coordinator) throw new ShardlineError('NOT_PRIMARY', 'This node is not acting as the primary');
    return this.#coordinator;
  }

  /** Its coordinator runs (between start() and stop()). */
  get running(): boolean {
    return this.#coordinator?.running ?? false;
  }

  get budget(): IdentifyBudget | null {
    return this.#budget;
  }

  async start(): Promise<void> {
    const o = this.#o;
    const walAutocheckpointPages = o.transactionWorkers ? { walAutocheckpointPages: BESIDE_THREAD_WAL_AUTOCHECKPOINT_PAGES } : {};
    this.#db = holdableDriver(openDatabase({ path: o.databasePath, driverFactory: o.driverFactory, ...walAutocheckpointPages }), this.#hold);
    const { applied } = await runMigrations(this.#db);
    if (applied.length > 0) this.#log.info({ applied }, 'migrations applied on the primary');
    const hold = this.#hold;
    const coordinator = new Coordinator({
      ...o.coordinator,
      // A reshard checks the budget this role keeps.
      reshard: { ...o.coordinator.reshard, budget: () => this.#budget },
      db: this.#db,
      nodeId: o.nodeId,
      logger: o.logger,
      writesHeld: () => hold.held,
      exclusive: (write) => this.#exclusive(write),
    });
    this.#coordinator = coordinator;
    const funnelOptions: Omit<WriteFunnelOptions, 'db'> = {
      ...o.funnelTuning,
      flushIntervalMs: o.flushIntervalMs,
      fence: (shardId, epoch, generation) => coordinator.fence(shardId, epoch, generation),
      errorListener: (error) => {
        this.#log.warn({ code: error.code, err: error.message }, 'write funnel problem');
        const { shardId, epoch, generation } = error.details as { shardId?: unknown; epoch?: unknown; generation?: unknown };
        if (error.code === 'STALE_EPOCH' && typeof shardId === 'number' && typeof epoch === 'number') o.onStale?.(shardId, epoch, typeof generation === 'number' ? generation : undefined);
      },
    };
    this.#funnel = o.transactionWorkers
      ? new WorkerWriteFunnel({ ...funnelOptions, databasePath: o.databasePath, workers: o.transactionWorkers, writesHeld: () => hold.held, fallbackDb: this.#db })
      : new WriteFunnel({ ...funnelOptions, db: this.#db });
    this.#funnel.start();
    const now = Date.now();
    // Discord measures the spacing between the IDENTIFYs it receives; grants reach the shards
    // with varying delay (HTTP, a busy event loop), so the budget keeps a margin.
    this.#budget = new IdentifyBudget(o.sessionStartLimit, now, { spacingMs: o.identifySpacingMs + IDENTIFY_MARGIN_MS });
    // A new primary does not know every slot the old one granted lately (replication lags):
    // if the ledger shows recent identifies, every bucket waits one spacing.
    const recent = this.#db.prepare('SELECT count(*) AS n FROM identify_ledger WHERE started_at > ?').get([now - 2 * o.identifySpacingMs]);
    if (Number(recent?.['n'] ?? 0) > 0) this.#budget.holdAll(now);
    coordinator.start();
  }

  /**
   * Holds every write for `ms` (0 releases) because another node is about to take the lease:
   * LiteFS exits if the role moves while a transaction commits. Queued writes wait, nothing is lost.
   * Resolves once no transaction is running: a batch already on the transaction thread is
   * waited for, since the caller promotes as soon as this answers.
   */
  async holdWrites(ms: number): Promise<number> {
    if (!this.#db) throw new ShardlineError('NOT_PRIMARY', 'Cannot hold writes: this node is not acting as the primary');
    this.#hold.hold(ms);
    if (ms > 0) await this.#funnel?.settled();
    const heldMs = this.#hold.remainingMs;
    this.#log.info({ heldMs }, heldMs > 0 ? 'writes held for a primary handoff' : 'writes released');
    return heldMs;
  }

  /**
   * The lease is gone: from now on a forwarded batch is refused rather than acknowledged, since
   * the funnel's drain hands it on instead of committing it. Its sender still holds it and sends
   * it to the new primary, in its order; re-forwarding it from here could land it after newer
   * writes of the same shard.
   */
  relinquish(): void {
    this.#lost = true;
  }

  /** Whether another node forwarded this entry (it is theirs to send again, not this node's to hand on). */
  isForwarded(entry: WriteEntry): boolean {
    return this.#forwarded.has(entry);
  }

  /** Loses the role: nothing more is written from here. Returns uncommitted writes, oldest first. */
  async stop(): Promise<WriteEntry[]> {
    this.#lost = true;
    this.#coordinator?.stop();
    const pending = (await this.#funnel?.drain()) ?? [];
    await this.#funnel?.close();
    this.#db?.close();
    this.#db = null;
    this.#funnel = null;
    this.#coordinator = null;
    this.#budget = null;
    return pending;
  }

  /** A crash, as far as one process can have one: nothing queued is committed (nor acknowledged). */
  async kill(): Promise<void> {
    this.#lost = true;
    this.#coordinator?.stop();
    await this.#funnel?.drain();
    await this.#funnel?.close();
    this.#db?.close();
    this.#db = null;
    this.#funnel = null;
    this.#coordinator = null;
    this.#budget = null;
  }

  /** POST /internal/writes on the primary: fence, commit, then acknowledge (so the sender may forget). */
  async acceptWrites(entries: readonly WriteEntry[], options: { batched?: boolean } = {}): Promise<ForwardResult> {
    const funnel = this.funnel;
    const coordinator = this.coordinator;
    const stale: { shardId: number; epoch: number; generation?: number }[] = [];
    for (const entry of entries) {
      if (!coordinator.fence(entry.shardId, entry.epoch, entry.generation)) {
        if (!stale.some((s) => s.shardId === entry.shardId && s.epoch === entry.epoch && s.generation === entry.generation)) {
          stale.push({ shardId: entry.shardId, epoch: entry.epoch, ...(entry.generation === undefined ? {} : { generation: entry.generation }) });
        }
        continue;
      }
      this.#forwarded.add(entry);
      await funnel.enqueue(entry);
    }
    // Every replica sends as soon as its last batch is acknowledged, so committing each send at
    // once would cost one transaction (a FUSE round trip on LiteFS) per send per replica.
    if (options.batched) await funnel.committed();
    else await funnel.flush();
    if (this.#lost) throw new ShardlineError('NOT_PRIMARY', 'This node lost the primary role before committing the batch: send it to the new primary');
    return { stale };
  }

  /**
   * Decides at once (the budget is in memory); a grant is answered once its ledger row is
   * committed, written between two batches of the transaction thread (exclusive()).
   */
  async identify(request: IdentifyRequest): Promise<IdentifyDecision> {
    const budget = this.#budget;
    if (!budget || !this.#db) throw new ShardlineError('NOT_PRIMARY', 'Cannot grant identify slots: this node is not the primary');
    const now = Date.now();
    const decision = budget.request(request.shardId, now);
    if (decision.kind === 'grant') {
      await this.#exclusive(() => {
        if (!this.#db) throw new ShardlineError('NOT_PRIMARY', `Cannot record the identify of shard ${request.shardId}: this node stopped being the primary`);
        recordIdentify(this.#db, { at: now, shardId: request.shardId, ...(request.generation === undefined ? {} : { generation: request.generation }), nodeId: request.nodeId, bucket: decision.bucket, remaining: decision.remaining });
      });
    }
    return decision;
  }

  /** A write on this connection, run while the funnel's thread holds no transaction (see WorkerWriteFunnel.exclusive). */
  #exclusive<T>(write: () => T): Promise<T> {
    return this.#funnel ? this.#funnel.exclusive(write) : Promise.resolve().then(write);
  }
}

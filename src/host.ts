import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { REST } from '@discordjs/rest';
import type { RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
import { ClusterClient } from './cluster/cluster-client.ts';
import { ForwardingWriter } from './cluster/forwarding-writer.ts';
import type { NodeAgent } from './cluster/node-agent.ts';
import type { PrimaryRole } from './cluster/primary-role.ts';
import { RoutingWriter } from './cluster/routing-writer.ts';
import { StaticLeadership } from './cluster/static-leadership.ts';
import type { Config } from './config/load-config.ts';
import type { Readiness } from './control/create-control-app.ts';
import type { ControlOperations, DrainReport, MoveReport, PrimaryOperations, ResumeResult, TakeoverResult } from './control/control-operations.ts';
import type { MetricsSnapshot } from './control/metrics.ts';
import type { ResumeInfo } from './core/resume-info.ts';
import { ShardlineError } from './core/errors.ts';
import type { LeaderState, Leadership } from './core/leadership.ts';
import type { Logger } from './core/ports.ts';
import type { HttpServerHandle } from './core/runtime.ts';
import type { SqliteDriver, SqliteDriverFactory } from './core/sqlite.ts';
import { TypedEmitter } from './core/typed-emitter.ts';
import { ClusterLink } from './host/cluster-link.ts';
import { createNodeAgent } from './host/create-node-agent.ts';
import { createPrimaryRole } from './host/create-primary-role.ts';
import { defaultLeadership } from './host/default-leadership.ts';
import type { LeaveReport } from './host/graceful-leave.ts';
import { leaveFor, type HostLeave } from './host/host-leave.ts';
import { createRest, fetchGatewayBot } from './host/gateway-info.ts';
import { HostOperations } from './host/host-operations.ts';
import type { HostOptions } from './host/host-options.ts';
import { hostReadiness, hostStatus, type HostStatus } from './host/host-status.ts';
import { LoopStallMonitor } from './host/loop-stall-monitor.ts';
import { MetricsHistory, readSessionRows } from './host/metrics-history.ts';
import { openReadDatabase } from './host/read-database.ts';
import { RestBudgetHost } from './host/rest-budget-host.ts';
import { RoleSwitch } from './host/role-switch.ts';
import { serveControlApp } from './host/serve-control-app.ts';
import type { ShardRunner } from './host/shard-runner.ts';
import { startupProgress, untilAllReady, type StartupProgress } from './host/startup-progress.ts';
import { stopRunners } from './host/stop-runners.ts';
import { silentLogger } from './log/create-logger.ts';
import { EVENT_LOOP_READ_MAX_BYTES, READ_ONLY_QUERY_DEFAULTS, queryLimits, runReadOnlyQuery, type ReadOnlyQueryResult } from './store/queries.ts';
import { QueryThreads, type EncodedQueryResult } from './store/query-threads.ts';
import { queryResultJson } from './store/result-json.ts';
import { VERSION } from './version.ts';

export type { HostOptions } from './host/host-options.ts';
export type { StartupProgress } from './host/startup-progress.ts';
export type { LeaveReport } from './host/graceful-leave.ts';

export { VERSION };

export interface HostEvents {
  progress: StartupProgress;
  shardReady: { shardId: number; resumed: boolean };
  role: LeaderState;
}

/**
 * The composition root of one node. Embedded (no LiteFS) and cluster nodes run the same
 * parts: a leadership source, the primary's duties while this node holds the lease
 * (funnel, coordinator, identify budget), and on every node an agent that runs exactly the
 * shards assigned to it, a writer that routes to the primary, and the HTTP API.
 */
export class Host extends TypedEmitter<HostEvents> {
  readonly config: Config;
  readonly #o: HostOptions;
  readonly #log: Logger;
  readonly #closing = new AbortController();
  readonly #leadership: Leadership;
  readonly #link: ClusterLink;
  readonly #role: RoleSwitch;
  #rest: REST | null = null;
  /** ctx.rest and this node's part of the cluster's REST budget (contract 12). */
  #restBudget: RestBudgetHost | null = null;
  #gateway: RESTGetAPIGatewayBotResult | null = null;
  #shardCount = 0;
  #http: HttpServerHandle | null = null;
  #readDb: SqliteDriver | null = null;
  #queries: QueryThreads | null = null;
  /** ctx.query()'s own threads: a slow POST /query from an operator must not make the bot's queries wait, nor the reverse. */
  #botQueries: QueryThreads | null = null;
  #forwarder: ForwardingWriter | null = null;
  #writer: RoutingWriter | null = null;
  #agent: NodeAgent | null = null;
  #unsubscribe: (() => void) | null = null;
  #state: 'new' | 'starting' | 'running' | 'leaving' | 'closing' | 'closed' = 'new';
  #leave: HostLeave | null = null;
  #startedAt = 0;
  readonly #operations: HostOperations;
  readonly #loop: LoopStallMonitor;
  readonly #history: MetricsHistory;

  constructor(options: HostOptions) {
    const logger = options.logger ?? silentLogger();
    super((error, event) => logger.error({ err: error, event }, 'host listener threw'));
    this.#o = options;
    this.config = options.config;
    // A root logger bound to this node already names it: a second `node` key would repeat it on every line.
    const named = logger.bindings?.()['node'] === options.config.nodeId;
    this.#log = logger.child({ component: 'host', ...(named ? {} : { node: options.config.nodeId }) });
    this.#leadership = options.leadership ?? defaultLeadership(options.config, this.#log, options.fetch);
    this.#loop = new LoopStallMonitor({
      logger: this.#log.child({ component: 'event-loop' }),
      ...(options.runtime.threadCpuMs ? { threadCpuMs: options.runtime.threadCpuMs } : {}),
      ...options.loopStall,
    });
    this.#history = new MetricsHistory({ status: () => this.status(), sessions: () => (this.#readDb ? readSessionRows(this.#readDb) : null), logger: this.#log });
    this.#role = new RoleSwitch({
      create: () =>
        createPrimaryRole({
          config: this.config,
          options: this.#o,
          databasePath: this.databasePath,
          driverFactory: this.#driverFactory(),
          gateway: this.#gateway!,
          shardCount: this.#shardCount,
          embedded: this.#leadership instanceof StaticLeadership,
          logger: this.#log,
          agent: () => this.#agent,
          agentOrThrow: () => this.#agentOrThrow(),
          client: () => this.#link.clientOrThrow(),
          urlOf: (nodeId) => this.#link.urlOf(nodeId),
          gatewayBot: async () => {
            const info = await fetchGatewayBot(this.#rest!, this.config.apiUrl);
            const limit = info.session_start_limit;
            return { shards: info.shards, sessionStartLimit: { total: limit.total, remaining: limit.remaining, resetAfterMs: limit.reset_after, maxConcurrency: Math.max(1, limit.max_concurrency) } };
          },
        }),
      writer: () => this.#writer,
      closing: () => this.#state === 'closing' || this.#state === 'closed',
      logger: this.#log,
    });
    this.#link = new ClusterLink({
      config: options.config,
      leadership: this.#leadership,
      client: options.config.clusterSecret ? new ClusterClient({ clusterSecret: options.config.clusterSecret, ...(options.fetch ? { fetch: options.fetch } : {}) }) : null,
      primary: () => this.#role.current,
      readDb: () => this.#readDb,
      httpUrl: () => this.#http?.url ?? null,
    });
    this.#operations = new HostOperations({
      nodeId: this.config.nodeId,
      signal: this.#closing.signal,
      leadership: this.#leadership,
      primary: () => this.#role.current,
      shardCount: () => this.shardCount,
      generation: () => this.#agent?.generation ?? 0,
      runner: (shardId) => this.runner(shardId),
      pendingRunners: () => this.#agent?.pendingRunners() ?? [],
      runners: () => this.runners(),
      readDb: () => this.#readDb,
      forwarderStats: () => this.#forwarder?.stats() ?? null,
      queryStats: () => this.#queries?.stats() ?? null,
      botQueryStats: () => this.#botQueries?.stats() ?? null,
      loopStats: () => this.#loop.stats(),
      restStatus: () => this.#restBudget?.status() ?? null,
      primaryUrl: () => this.#link.primaryUrl(),
      urlOf: (nodeId) => this.#link.urlOf(nodeId),
      client: () => this.#link.clientOrThrow(),
      primaryOrThrow: (what) => this.#link.primaryOrThrow(what),
      leave: () => this.#leave?.progress ?? null,
      refusesLease: () => (this.#state === 'running' ? null : `node ${this.config.nodeId} is ${this.#state}`),
    });
  }

  get databasePath(): string {
    return join(this.config.dataDir, this.config.dbFile);
  }

  /** The HTTP API's base URL once started. */
  get url(): string | null {
    return this.#http?.url ?? null;
  }

  /** The active shard set's count (a reshard changes it). */
  get shardCount(): number {
    return this.#agent?.shardCount ?? this.#shardCount;
  }

  get isPrimary(): boolean {
    return this.#role.current !== null;
  }

  get leadership(): Leadership {
    return this.#leadership;
  }

  /** Primary-only duties, while this node holds the lease. */
  get primary(): PrimaryRole | null {
    return this.#role.current;
  }

  runner(shardId: number): ShardRunner | undefined {
    return this.#agent?.runners.get(shardId);
  }

  runners(): ShardRunner[] {
    return [...(this.#agent?.runners.values() ?? [])];
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new ShardlineError('CONFLICT', `Cannot start the host: it is ${this.#state}`);
    this.#state = 'starting';
    this.#startedAt = Date.now();
    try {
      await this.#start();
      this.#state = 'running';
    } catch (error) {
      await this.#teardown(false);
      this.#state = 'closed';
      throw error;
    }
    if (this.#leadership instanceof StaticLeadership) {
      await untilAllReady({
        // The recorded shard set's count (a reshard may have changed it since SHARD_COUNT was set).
        shardCount: this.shardCount,
        signal: this.#closing.signal,
        progress: () => this.progress(),
        runners: () => this.runners(),
        onProgress: (listener) => this.on('progress', listener),
      });
    }
  }

  async #start(): Promise<void> {
    const config = this.config;
    const signal = this.#closing.signal;
    try {
      mkdirSync(config.dataDir, { recursive: true });
    } catch (error) {
      throw new ShardlineError('STORE_UNAVAILABLE', `Cannot create data directory ${config.dataDir}: ${(error as Error).message}`, { cause: error });
    }
    this.#loop.start();
    this.#rest = createRest(config.apiUrl, config.token);
    this.#gateway = await fetchGatewayBot(this.#rest, config.apiUrl);
    this.#shardCount = config.shardCount === 'auto' ? this.#gateway.shards : config.shardCount;

    if (this.#o.serveHttp ?? true) {
      this.#http = await serveControlApp({
        config,
        serve: (handler, options) => this.#o.runtime.serve(handler, options),
        logger: this.#log,
        operations: this.controlOperations(),
        readiness: () => this.readiness(),
        status: () => this.status(),
        query: (sql, params, limits) => this.query(sql, params, limits),
        runQueryJson: (sql, params, limits, signal) => this.runQueryJson(sql, params, limits, signal),
        history: () => this.#history.samples(),
        primaryOrThrow: (what) => this.#link.primaryOrThrow(what),
        agentOrThrow: () => this.#agentOrThrow(),
        restLease: (request) => {
          if (!this.#restBudget) throw new ShardlineError('CONFLICT', `Cannot grant REST budget: node ${this.config.nodeId} is ${this.#state}`);
          return this.#restBudget.lease(request);
        },
      });
    }

    await this.#leadership.start(signal);
    this.#unsubscribe = this.#leadership.subscribe((state) => {
      this.emit('role', state);
      this.#role.follow(state);
      // Writes queued while no primary was known go now, not after the retry backoff.
      if (state.primary && !state.isPrimary) this.#forwarder?.retryNow();
    });
    await this.#role.apply(this.#leadership.current());

    this.#readDb = await openReadDatabase(this.databasePath, this.#driverFactory(), signal);
    // Reads only, so even beside a custom `sqlite` (the simulated LiteFS watches writes) the runtime's own driver may open the file.
    const queryWorkers = this.#o.runtime.queryWorkers;
    if (queryWorkers) {
      const threads = (component: string): QueryThreads =>
        new QueryThreads({ databasePath: this.databasePath, workers: queryWorkers, ...this.#o.queryThreads, logger: this.#log.child({ component }) });
      this.#queries = threads('query-threads');
      this.#botQueries = threads('bot-query-threads');
    } else if (this.#o.runtime.queryWorkersMissing) {
      this.#log.warn(this.#o.runtime.queryWorkersMissing);
    }
    this.#forwarder = new ForwardingWriter({
      nodeId: config.nodeId,
      primaryUrl: () => this.#link.primaryUrl(),
      clusterSecret: config.clusterSecret ?? '',
      logger: this.#log,
      flushIntervalMs: config.flushIntervalMs,
      onStale: (shardId, epoch) => this.#agent?.fence(shardId, epoch),
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
    });
    this.#writer = new RoutingWriter(this.#forwarder);
    if (this.#role.current) this.#writer.useLocal(this.#role.current.funnel);

    this.#restBudget = new RestBudgetHost({
      config,
      settings: this.#o.rest ?? {},
      leaseIntervalMs: this.#o.cluster?.heartbeatMs ?? 1_000,
      leadership: this.#leadership,
      link: this.#link,
      logger: this.#log,
      primary: () => this.#role.current,
      readDb: () => this.#readDb,
    });
    this.#restBudget.start();
    this.#agent = createNodeAgent({
      config,
      options: this.#o,
      version: VERSION,
      startedAt: this.#startedAt,
      shardCount: this.#shardCount,
      gatewayUrl: this.#gateway.url,
      rest: this.#restBudget.rest,
      readDb: this.#readDb,
      botReadDb: () => this.#readDb,
      botRunQuery: (sql, params, limits, signal) => this.#runOn(this.#botQueries, sql, params, limits, signal),
      writer: this.#writer,
      logger: this.#log,
      url: () => this.#link.advertiseUrl(),
      heartbeat: (request) => this.#link.heartbeat(request),
      identify: (shardId, generation) => this.#link.identify(shardId, generation),
      onProgress: () => this.emit('progress', this.progress()),
      onShardReady: (event) => this.emit('shardReady', event),
    });
    this.#agent.start();
    this.#history.start();
  }

  /** Graceful stop: shards detach resumably, their final seqs are committed, then everything closes. */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#leave?.interrupt();
    this.#state = 'closing';
    await this.#teardown(true);
    this.#state = 'closed';
  }

  /**
   * What SIGINT/SIGTERM does (contract 11). A cluster node leaves first: it hands the lease on
   * if it holds it, has the primary move every shard away by resume, and waits until it runs
   * none and its writes are acknowledged, at most `timeoutMs` (default
   * SHARDLINE_LEAVE_TIMEOUT_MS); what is left then is detached resumably. `signal` (a second
   * signal) cuts the wait short. Then it closes as close() does. The embedded node, and a node
   * with no other live node, only close.
   */
  async leave(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<LeaveReport> {
    if (this.#state !== 'running' || !this.#agent || !this.#writer) {
      const started = Date.now();
      const shards = this.runners().length;
      await this.close();
      return { outcome: 'not-running', tookMs: Date.now() - started, shards, leftover: shards, primaryHandoffMs: null, newPrimary: null };
    }
    this.#state = 'leaving';
    const agent = this.#agent;
    const writer = this.#writer;
    this.#leave = leaveFor({
      nodeId: this.config.nodeId,
      nodeTimeoutMs: this.config.nodeTimeoutMs,
      logger: this.#log,
      embedded: this.#leadership instanceof StaticLeadership,
      leadership: this.#leadership,
      agent,
      writer,
      primary: () => this.#role.current,
      readDb: () => this.#readDb,
      followSuccessor: (nodeId) => {
        this.#link.followSuccessor(nodeId);
        // What the old funnel had queued goes now, committed at once: the moves' own flushes then find little left.
        void writer.flush().catch(() => {});
      },
      takeover: (nodeId, timeoutMs) => this.#link.clientOrThrow().call(this.#link.urlOf(nodeId), '/internal/takeover', { timeoutMs, leaving: this.config.nodeId }, timeoutMs + 5_000),
    });
    let report: LeaveReport;
    try {
      report = await this.#leave.run({ timeoutMs: options.timeoutMs ?? this.config.leaveTimeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    } finally {
      await this.close();
    }
    return report;
  }

  /** As abrupt as a crash can be in-process: nothing more is committed or sent. */
  async kill(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    await this.#teardown(false);
    this.#state = 'closed';
  }

  progress(): StartupProgress {
    return startupProgress(this.runners());
  }

  readiness(): Readiness {
    return hostReadiness({ state: this.#state, leadership: this.#leadership, readDb: this.#readDb, runners: this.runners() });
  }

  status(): HostStatus {
    return hostStatus({
      nodeId: this.config.nodeId,
      leadership: this.#leadership,
      version: VERSION,
      startedAt: this.#startedAt,
      state: this.#state,
      url: this.#http ? this.#link.advertiseUrl() : null,
      shardCount: this.shardCount,
      runners: this.runners(),
      pendingRunners: this.#agent?.pendingRunners() ?? [],
      reshard: this.#operations.reshardView(),
      readDb: this.#readDb,
      primary: this.#role.current,
      forwarder: this.#forwarder?.stats() ?? null,
      queries: this.#queries?.stats() ?? null,
      botQueries: this.#botQueries?.stats() ?? null,
      eventLoop: this.#loop.stats(),
      rest: this.#restBudget?.status() ?? null,
    });
  }

  /** ctx.rest: the REST client handlers get, spending this node's share of the cluster's budget. */
  get rest(): REST | null {
    return this.#restBudget?.rest ?? null;
  }

  /** This node's REST budget: its share, and the primary's allocation while it is primary. */
  restBudget(): RestBudgetHost | null {
    return this.#restBudget;
  }

  /**
   * Read-only SQL on this node's database, on the event loop: for SQL you trust to be quick
   * (the time and byte limits are checked between rows, and a slow step runs to its end; the
   * result stops at 8 MiB as JSON unless `maxBytes` says otherwise). SQL from outside goes
   * through runQuery().
   */
  query(sql: string, params: readonly unknown[] = [], limits: { maxRows?: number; timeoutMs?: number; maxBytes?: number } = {}): ReturnType<typeof runReadOnlyQuery> {
    return runReadOnlyQuery(this.#readDbOrThrow(), sql, params, queryLimits(limits, { ...READ_ONLY_QUERY_DEFAULTS, maxBytes: EVENT_LOOP_READ_MAX_BYTES }));
  }

  /**
   * Read-only SQL on one of the query API's threads: a slow statement cannot stall this node's
   * shards or heartbeats, one that passes its time limit inside a SQLite step is abandoned with
   * TIMEOUT, and one past `maxBytes` (default 4 MiB as JSON) is refused with TOO_LARGE. On the
   * event loop, as query(), where the runtime has no threads.
   */
  async runQuery(sql: string, params: readonly unknown[] | Record<string, unknown> = [], limits: { maxRows?: number; timeoutMs?: number; maxBytes?: number } = {}, signal?: AbortSignal): Promise<ReadOnlyQueryResult> {
    return this.#runOn(this.#queries, sql, params, limits, signal);
  }

  /**
   * POST /query: as runQuery(), with the result written as the route's JSON on the query
   * thread, so this event loop never holds the rows as values nor serializes them.
   */
  async runQueryJson(sql: string, params: readonly unknown[] | Record<string, unknown> = [], limits: { maxRows?: number; timeoutMs?: number; maxBytes?: number } = {}, signal?: AbortSignal): Promise<EncodedQueryResult> {
    const db = this.#readDbOrThrow();
    const bounded = queryLimits(limits);
    if (this.#queries) return this.#queries.runJson(sql, params, bounded, signal);
    const result = runReadOnlyQuery(db, sql, params, bounded);
    return { json: result.timedOut ? null : new TextEncoder().encode(queryResultJson(result)), rowCount: result.rows.length, truncated: result.truncated, timedOut: result.timedOut };
  }

  async #runOn(threads: QueryThreads | null, sql: string, params: readonly unknown[] | Record<string, unknown>, limits: { maxRows?: number; timeoutMs?: number; maxBytes?: number }, signal?: AbortSignal): Promise<ReadOnlyQueryResult> {
    const db = this.#readDbOrThrow();
    const bounded = queryLimits(limits);
    if (!threads) return runReadOnlyQuery(db, sql, params, bounded);
    return threads.run(sql, params, bounded, signal);
  }

  // ---- control plane operations (src/host/host-operations.ts) ----
  /** The operations the HTTP API serves; see src/control/control-operations.ts. */
  controlOperations(): ControlOperations & PrimaryOperations {
    return this.#operations.controlOperations();
  }

  takeover(options: { timeoutMs?: number } = {}): Promise<TakeoverResult> {
    return this.#operations.takeover(options);
  }

  handoffShard(shardId: number): Promise<ResumeInfo> {
    return this.#operations.handoffShard(shardId);
  }

  resumeShard(shardId: number, info: ResumeInfo): Promise<ResumeResult> {
    return this.#operations.resumeShard(shardId, info);
  }

  moveShard(shardId: number, to: string, options: { forwarded?: boolean } = {}): Promise<MoveReport> {
    return this.#operations.moveShard(shardId, to, options);
  }

  drainNode(nodeId: string, draining: boolean, options: { waitMs?: number } = {}): Promise<DrainReport> {
    return this.#operations.drainNode(nodeId, draining, options);
  }

  metricsSnapshot(): MetricsSnapshot {
    return this.#operations.metricsSnapshot();
  }

  #readDbOrThrow(): SqliteDriver {
    if (!this.#readDb) throw new ShardlineError('STORE_UNAVAILABLE', `Cannot query: the host is ${this.#state}`);
    return this.#readDb;
  }

  #driverFactory(): SqliteDriverFactory {
    return this.#o.sqlite ?? this.#o.runtime.sqlite;
  }

  #agentOrThrow(): NodeAgent {
    if (!this.#agent) throw new ShardlineError('CONFLICT', `Node ${this.config.nodeId} is ${this.#state}: its agent is not running`);
    return this.#agent;
  }

  async #teardown(graceful: boolean): Promise<void> {
    this.#closing.abort(new ShardlineError('CLOSED', 'host closing'));
    this.#unsubscribe?.();
    this.#agent?.stop();
    // A reshard's new shards stop too (resumably: a shadow one from its READY, see ShardRunner.detach).
    await stopRunners([...this.runners(), ...(this.#agent?.pendingRunners() ?? [])], graceful, this.#writer, this.#log);
    this.#restBudget?.close();
    await this.#role.stop(graceful);
    await this.#forwarder?.close();
    await this.#leadership.close();
    this.#rest?.clearHashSweeper();
    this.#rest?.clearHandlerSweeper();
    await this.#http?.close();
    this.#http = null;
    await Promise.all([this.#queries?.close(), this.#botQueries?.close()]);
    this.#queries = null;
    this.#botQueries = null;
    this.#readDb?.close();
    this.#readDb = null;
    this.#loop.close();
    this.#history.close();
  }
}

export function createHost(options: HostOptions): Host {
  return new Host(options);
}

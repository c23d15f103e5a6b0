import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { REST } from '@discordjs/rest';
import type { GatewaySendPayload, RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
import type { BotContext, BotDefinition } from './bot.ts';
import { intentsOf } from './bot.ts';
import { ClusterClient } from './cluster/cluster-client.ts';
import { ClusterIdentifyThrottler } from './cluster/cluster-identify-throttler.ts';
import type { HeartbeatRequest, HeartbeatResponse } from './cluster/cluster-protocol.ts';
import { nodeUrl, readAssignments, readNodes, recentEvents } from './cluster/cluster-tables.ts';
import { ForwardingWriter } from './cluster/forwarding-writer.ts';
import { LiteFsLeadership } from './cluster/litefs-leadership.ts';
import { NodeAgent } from './cluster/node-agent.ts';
import { PrimaryRole } from './cluster/primary-role.ts';
import { RoutingWriter } from './cluster/routing-writer.ts';
import { StaticLeadership } from './cluster/static-leadership.ts';
import type { Config } from './config/load-config.ts';
import { createControlApp, type Readiness } from './control/create-control-app.ts';
import type { ControlOperations, DrainReport, MoveReport, PrimaryOperations, ResumeResult, TakeoverResult } from './control/control-operations.ts';
import type { MetricsSnapshot } from './control/metrics.ts';
import { sleep } from './core/abort.ts';
import type { ResumeInfo } from './core/resume-info.ts';
import { ShardlineError } from './core/errors.ts';
import type { IdentifyDecision } from './core/identify-budget.ts';
import type { LeaderState, Leadership } from './core/leadership.ts';
import type { Logger } from './core/ports.ts';
import type { HttpServerHandle, Runtime } from './core/runtime.ts';
import type { SqliteDriver, SqliteDriverFactory } from './core/sqlite.ts';
import { TypedEmitter } from './core/typed-emitter.ts';
import type { ShardOptions } from './gateway/shard-options.ts';
import { createRest, fetchGatewayBot } from './host/gateway-info.ts';
import type { HostStatus } from './host/host-status.ts';
import { openReadDatabase } from './host/read-database.ts';
import { createBotContext } from './host/bot-context.ts';
import { HostOperations } from './host/host-operations.ts';
import { ShardRunner } from './host/shard-runner.ts';
import { silentLogger } from './log/create-logger.ts';
import { runReadOnlyQuery } from './store/queries.ts';
import type { WriteFunnelOptions } from './store/write-funnel.ts';

export const VERSION = '0.1.0';

export interface HostOptions {
  readonly config: Config;
  readonly runtime: Pick<Runtime, 'transport' | 'sqlite' | 'serve' | 'transactionWorkers'>;
  readonly bot?: BotDefinition;
  readonly logger?: Logger;
  /** Opens the database instead of `runtime.sqlite` (the simulated LiteFS wraps it). */
  readonly sqlite?: SqliteDriverFactory;
  /**
   * Where the funnel's transactions run; default config.writeFunnel (SHARDLINE_WRITE_FUNNEL).
   * 'thread' (the default where the runtime has transactionWorkers: Node and Deno): on a thread with
   * its own connection, so the event loop keeps reading sockets while SQLite commits. 'inline':
   * on the event loop; always so with a custom `sqlite` (the simulated LiteFS must see every
   * write) or a runtime without threads.
   */
  readonly writeFunnel?: Config['writeFunnel'];
  /** Who is primary; default: LiteFS at config.litefsUrl, else this node alone (embedded). */
  readonly leadership?: Leadership;
  /** Serve the HTTP API on config.httpHost:httpPort. Default true (a cluster node needs it). */
  readonly serveHttp?: boolean;
  /** Identify spacing per bucket; Discord's is 5000 ms. Tests against the simulator lower both. */
  readonly identifySpacingMs?: number;
  /** Node-to-node HTTP (tests cut it to simulate a partition). */
  readonly fetch?: typeof fetch;
  /** Cluster timings (tests shorten them). */
  readonly cluster?: { heartbeatMs?: number; reconcileMs?: number; tickMs?: number; settleMs?: number; maxConcurrentHandoffs?: number };
  /** Write funnel thresholds (tests force back-pressure with small ones). */
  readonly funnelTuning?: Partial<Pick<WriteFunnelOptions, 'flushThresholdRows' | 'highWaterRows' | 'retryBaseMs' | 'retryMaxMs'>>;
  /** Extra shard tuning (tests: short backoffs, no invalid-session wait). */
  readonly shardTuning?: Partial<Omit<ShardOptions, 'shardId' | 'shardCount' | 'token' | 'intents' | 'gatewayUrl' | 'transport' | 'identifyThrottler' | 'onDispatch'>>;
}

export interface StartupProgress {
  readonly total: number;
  readonly identifying: number;
  readonly resuming: number;
  readonly ready: number;
}

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
  readonly #client: ClusterClient | null;
  #rest: REST | null = null;
  #gateway: RESTGetAPIGatewayBotResult | null = null;
  #shardCount = 0;
  #http: HttpServerHandle | null = null;
  #readDb: SqliteDriver | null = null;
  #primary: PrimaryRole | null = null;
  #forwarder: ForwardingWriter | null = null;
  #writer: RoutingWriter | null = null;
  #agent: NodeAgent | null = null;
  #roleChange: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | null = null;
  #state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  #startedAt = 0;
  readonly #operations: HostOperations;

  constructor(options: HostOptions) {
    const logger = options.logger ?? silentLogger();
    super((error, event) => logger.error({ err: error, event }, 'host listener threw'));
    this.#o = options;
    this.config = options.config;
    this.#log = logger.child({ component: 'host', node: options.config.nodeId });
    this.#leadership =
      options.leadership ??
      (options.config.litefsUrl
        ? new LiteFsLeadership({ url: options.config.litefsUrl, hostname: options.config.nodeId, logger: this.#log, ...(options.fetch ? { fetch: options.fetch } : {}) })
        : new StaticLeadership(options.config.nodeId));
    this.#client = options.config.clusterSecret ? new ClusterClient({ clusterSecret: options.config.clusterSecret, ...(options.fetch ? { fetch: options.fetch } : {}) }) : null;
    this.#operations = new HostOperations({
      nodeId: this.config.nodeId,
      signal: this.#closing.signal,
      leadership: this.#leadership,
      primary: () => this.#primary,
      shardCount: () => this.#shardCount,
      runner: (shardId) => this.runner(shardId),
      runners: () => this.runners(),
      readDb: () => this.#readDb,
      forwarderStats: () => this.#forwarder?.stats() ?? null,
      primaryUrl: () => this.#primaryUrl(),
      urlOf: (nodeId) => this.#urlOf(nodeId),
      client: () => this.#clientOrThrow(),
      primaryOrThrow: (what) => this.#primaryOrThrow(what),
    });
  }

  get databasePath(): string {
    return join(this.config.dataDir, this.config.dbFile);
  }

  /** The HTTP API's base URL once started. */
  get url(): string | null {
    return this.#http?.url ?? null;
  }

  get shardCount(): number {
    return this.#shardCount;
  }

  get isPrimary(): boolean {
    return this.#primary !== null;
  }

  get leadership(): Leadership {
    return this.#leadership;
  }

  /** Primary-only duties, while this node holds the lease. */
  get primary(): PrimaryRole | null {
    return this.#primary;
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
    if (this.#leadership instanceof StaticLeadership) await this.#untilAllReady();
  }

  async #start(): Promise<void> {
    const config = this.config;
    const signal = this.#closing.signal;
    try {
      mkdirSync(config.dataDir, { recursive: true });
    } catch (error) {
      throw new ShardlineError('STORE_UNAVAILABLE', `Cannot create data directory ${config.dataDir}: ${(error as Error).message}`, { cause: error });
    }
    this.#rest = createRest(config.apiUrl, config.token);
    this.#gateway = await fetchGatewayBot(this.#rest, config.apiUrl);
    this.#shardCount = config.shardCount === 'auto' ? this.#gateway.shards : config.shardCount;

    if (this.#o.serveHttp ?? true) {
      const app = createControlApp({
        adminToken: config.adminToken,
        clusterSecret: config.clusterSecret,
        logger: this.#log,
        readiness: () => this.readiness(),
        status: () => this.status(),
        query: (sql, params, limits) => this.query(sql, params, limits),
        internal: {
          heartbeat: (request) => this.#primaryOrThrow('record heartbeats').coordinator.heartbeat(request),
          acceptWrites: (_nodeId, entries) => this.#primaryOrThrow('accept forwarded writes').acceptWrites(entries),
          identify: (request) => this.#primaryOrThrow('grant identify slots').identify(request),
          detach: (shardId, epoch) => this.#agentOrThrow().detachShard(shardId, epoch),
          start: (shardId, epoch, resume) => this.#agentOrThrow().startShard(shardId, epoch, resume),
        },
        operations: this.controlOperations(),
      });
      this.#http = await this.#o.runtime.serve(app.fetch, { hostname: config.httpHost, port: config.httpPort });
      this.#log.info({ url: this.#http.url }, 'HTTP API listening');
    }

    await this.#leadership.start(signal);
    this.#unsubscribe = this.#leadership.subscribe((state) => {
      this.emit('role', state);
      this.#roleChange = this.#roleChange.then(() => this.#applyRole(state)).catch((error: unknown) => this.#log.error({ err: error }, 'role change failed'));
    });
    await this.#applyRole(this.#leadership.current());

    this.#readDb = await openReadDatabase(this.databasePath, this.#driverFactory(), signal);
    this.#forwarder = new ForwardingWriter({
      nodeId: config.nodeId,
      primaryUrl: () => this.#primaryUrl(),
      clusterSecret: config.clusterSecret ?? '',
      logger: this.#log,
      flushIntervalMs: config.flushIntervalMs,
      onStale: (shardId, epoch) => this.#agent?.fence(shardId, epoch),
      ...(this.#o.fetch ? { fetch: this.#o.fetch } : {}),
    });
    this.#writer = new RoutingWriter(this.#forwarder);
    if (this.#primary) this.#writer.useLocal(this.#primary.funnel);

    const intents = (this.#o.bot ? intentsOf(this.#o.bot) : 0) | (config.intents ?? 0);
    const throttler = new ClusterIdentifyThrottler((shardId) => this.#identify(shardId), this.#log);
    const timing = this.#o.cluster ?? {};
    this.#agent = new NodeAgent({
      nodeId: config.nodeId,
      version: VERSION,
      startedAt: this.#startedAt,
      url: () => this.#advertiseUrl(),
      readDb: this.#readDb,
      shardCount: this.#shardCount,
      writer: this.#writer,
      logger: this.#log,
      heartbeat: (request) => this.#heartbeat(request),
      onRunnersChanged: () => this.emit('progress', this.progress()),
      ...(timing.heartbeatMs !== undefined ? { heartbeatMs: timing.heartbeatMs } : {}),
      ...(timing.reconcileMs !== undefined ? { reconcileMs: timing.reconcileMs } : {}),
      createRunner: (shardId, epoch) => {
        const runner = new ShardRunner({
          shard: {
            ...this.#o.shardTuning,
            shardId,
            shardCount: this.#shardCount,
            token: config.token,
            intents,
            gatewayUrl: this.#gateway!.url,
            transport: this.#o.runtime.transport,
            identifyThrottler: throttler,
          },
          epoch,
          writer: this.#writer!,
          bot: this.#o.bot,
          context: (r) => createBotContext(r, { rest: this.#rest!, logger: this.#log, readDb: () => this.#readDb }),
          logger: this.#log,
        });
        runner.shard.on('status', () => this.emit('progress', this.progress()));
        runner.shard.on('shardReady', (event) => this.emit('shardReady', { shardId: event.shardId, resumed: event.resumed }));
        return runner;
      },
    });
    this.#agent.start();
  }

  /** Becomes or stops being the primary, in order, one change at a time. */
  async #applyRole(state: LeaderState): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    if (state.isPrimary && !this.#primary) {
      const role = new PrimaryRole({
        nodeId: this.config.nodeId,
        databasePath: this.databasePath,
        driverFactory: this.#driverFactory(),
        flushIntervalMs: this.config.flushIntervalMs,
        ...(this.#o.funnelTuning ? { funnelTuning: this.#o.funnelTuning } : {}),
        // A custom driver (the simulated LiteFS) must see every write: a thread's connection would bypass it.
        ...((this.#o.writeFunnel ?? this.config.writeFunnel) === 'thread' && !this.#o.sqlite && this.#o.runtime.transactionWorkers ? { transactionWorkers: this.#o.runtime.transactionWorkers } : {}),
        identifySpacingMs: this.#o.identifySpacingMs ?? 5_000,
        sessionStartLimit: {
          total: this.#gateway!.session_start_limit.total,
          remaining: this.#gateway!.session_start_limit.remaining,
          resetAfterMs: this.#gateway!.session_start_limit.reset_after,
          maxConcurrency: Math.max(1, this.#gateway!.session_start_limit.max_concurrency),
        },
        logger: this.#log,
        onStale: (shardId, epoch) => this.#agent?.fence(shardId, epoch),
        coordinator: {
          shardCount: this.#shardCount,
          nodeTimeoutMs: this.config.nodeTimeoutMs,
          ...(this.#o.cluster?.tickMs !== undefined ? { tickMs: this.#o.cluster.tickMs } : {}),
          ...(this.#o.cluster?.maxConcurrentHandoffs !== undefined ? { maxConcurrentHandoffs: this.#o.cluster.maxConcurrentHandoffs } : {}),
          settleMs: this.#o.cluster?.settleMs ?? (this.#leadership instanceof StaticLeadership ? 0 : 1_500),
          onAssignmentsChanged: () => this.#agent?.reconcile(),
          commands: {
            detach: (nodeId, shardId, epoch) =>
              nodeId === this.config.nodeId ? this.#agentOrThrow().detachShard(shardId, epoch) : this.#clientOrThrow().detach(this.#urlOf(nodeId), shardId, epoch),
            start: async (nodeId, shardId, epoch, resume) => {
              if (nodeId === this.config.nodeId) this.#agentOrThrow().startShard(shardId, epoch, resume);
              else await this.#clientOrThrow().start(this.#urlOf(nodeId), shardId, epoch, resume);
            },
          },
        },
      });
      await role.start();
      this.#primary = role;
      this.#writer?.useLocal(role.funnel);
      this.#log.info('this node is the primary');
    } else if (!state.isPrimary && this.#primary) {
      const role = this.#primary;
      this.#primary = null;
      // Uncommitted local writes go to the new primary before anything newer.
      this.#writer?.useForwarding();
      await role.stop();
      this.#log.warn({ primary: state.primary }, 'this node is no longer the primary');
    }
  }

  /** Graceful stop: shards detach resumably, their final seqs are committed, then everything closes. */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#state = 'closing';
    await this.#teardown(true);
    this.#state = 'closed';
  }

  /** As abrupt as a crash can be in-process: nothing more is committed or sent. */
  async kill(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    await this.#teardown(false);
    this.#state = 'closed';
  }

  progress(): StartupProgress {
    let identifying = 0;
    let resuming = 0;
    let ready = 0;
    const runners = this.runners();
    for (const runner of runners) {
      const status = runner.shard.status;
      if (status === 'ready') ready++;
      else if (status === 'resuming') resuming++;
      else if (status === 'identifying' || status === 'connecting' || status === 'idle') identifying++;
    }
    return { total: runners.length, identifying, resuming, ready };
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (this.#state !== 'running') reasons.push(`host is ${this.#state}`);
    if (!this.#leadership.current().known) reasons.push('role unknown: LiteFS has not said who is primary');
    if (!this.#readDb) reasons.push('database is not open');
    for (const runner of this.runners()) {
      if (runner.shard.status !== 'ready') reasons.push(`shard ${runner.shardId} is ${runner.shard.status}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  status(): HostStatus {
    const role = this.#leadership.current();
    const db = this.#readDb;
    return {
      node: {
        id: this.config.nodeId,
        role: role.isPrimary ? 'primary' : role.known ? 'replica' : 'unknown',
        primary: role.primary,
        mode: this.#leadership instanceof StaticLeadership ? 'embedded' : 'cluster',
        version: VERSION,
        startedAt: this.#startedAt,
        state: this.#state,
        url: this.#http ? this.#advertiseUrl() : null,
      },
      shardCount: this.#shardCount,
      shards: this.runners().map((r) => r.stats()),
      nodes: db ? readNodes(db) : [],
      assignments: db ? [...readAssignments(db).values()] : [],
      identify: this.#primary?.budget?.snapshot() ?? null,
      funnel: this.#primary ? this.#primary.funnel.stats() : null,
      forwarder: this.#forwarder?.stats() ?? null,
      events: db ? recentEvents(db, 50) : [],
    };
  }

  /** Read-only SQL on this node's database (the same path as POST /query). */
  query(sql: string, params: readonly unknown[] = [], limits: { maxRows?: number; timeoutMs?: number } = {}): ReturnType<typeof runReadOnlyQuery> {
    if (!this.#readDb) throw new ShardlineError('STORE_UNAVAILABLE', `Cannot query: the host is ${this.#state}`);
    return runReadOnlyQuery(this.#readDb, sql, params, limits);
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


  #driverFactory(): SqliteDriverFactory {
    return this.#o.sqlite ?? this.#o.runtime.sqlite;
  }

  #advertiseUrl(): string {
    return this.config.advertiseUrl ?? this.#http?.url ?? `http://${this.config.httpHost}:${this.config.httpPort}`;
  }

  #primaryUrl(): string | null {
    const state = this.#leadership.current();
    if (state.isPrimary) return this.#advertiseUrl();
    if (!state.primary || !this.#readDb) return null;
    return nodeUrl(this.#readDb, state.primary);
  }

  #urlOf(nodeId: string): string {
    const url = this.#primary?.coordinator.nodeUrl(nodeId) ?? (this.#readDb ? nodeUrl(this.#readDb, nodeId) : null);
    if (!url) throw new ShardlineError('NOT_FOUND', `No URL known for node ${nodeId}`);
    return url;
  }

  #primaryOrThrow(what: string): PrimaryRole {
    if (this.#primary) return this.#primary;
    const primary = this.#leadership.current().primary;
    throw new ShardlineError('NOT_PRIMARY', `Cannot ${what}: this node is not the primary${primary ? `; the primary is ${primary}` : '; no primary is known'}`, {
      details: { primary },
    });
  }

  #agentOrThrow(): NodeAgent {
    if (!this.#agent) throw new ShardlineError('CONFLICT', `Node ${this.config.nodeId} is ${this.#state}: its agent is not running`);
    return this.#agent;
  }

  #clientOrThrow(): ClusterClient {
    if (!this.#client) throw new ShardlineError('INVALID_CONFIG', 'SHARDLINE_CLUSTER_SECRET is not set, so this node cannot talk to other nodes');
    return this.#client;
  }

  #heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    if (this.#primary) return Promise.resolve(this.#primary.coordinator.heartbeat(request));
    const url = this.#primaryUrl();
    if (!url) return Promise.reject(new ShardlineError('NO_PRIMARY', 'No primary is known yet'));
    return this.#clientOrThrow().heartbeat(url, request);
  }

  #identify(shardId: number): Promise<IdentifyDecision> {
    if (this.#primary) return this.#primary.identify({ nodeId: this.config.nodeId, shardId });
    const url = this.#primaryUrl();
    if (!url) return Promise.reject(new ShardlineError('NO_PRIMARY', 'No primary is known: identifies wait (contract 8)'));
    return this.#clientOrThrow().identify(url, { nodeId: this.config.nodeId, shardId });
  }

  async #untilAllReady(): Promise<void> {
    const signal = this.#closing.signal;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const p = this.progress();
        if (p.total === this.#shardCount && p.ready === p.total) done(resolve);
        else {
          const failed = this.runners().find((r) => r.shard.status === 'failed');
          if (failed) done(() => reject(new ShardlineError('GATEWAY_FATAL', `Shard ${failed.shardId} failed to start; see the log`)));
        }
      };
      const offProgress = this.on('progress', check);
      const onAbort = (): void => done(() => reject(new ShardlineError('CLOSED', 'Host closed while starting')));
      const done = (settle: () => void): void => {
        offProgress();
        signal.removeEventListener('abort', onAbort);
        settle();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      check();
    });
  }

  async #teardown(graceful: boolean): Promise<void> {
    this.#closing.abort(new ShardlineError('CLOSED', 'host closing'));
    this.#unsubscribe?.();
    this.#agent?.stop();
    const runners = this.runners();
    if (graceful) {
      const results = await Promise.allSettled(runners.map((r) => r.detach()));
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed > 0) this.#log.warn({ failed }, 'some shards could not detach cleanly');
      await withTimeout(this.#writer?.flush(), 5_000).catch((error: unknown) => this.#log.warn({ err: (error as Error).message }, 'could not flush every write before stopping'));
    } else {
      await Promise.allSettled(runners.map((r) => r.stop()));
    }
    await this.#roleChange;
    const primary = this.#primary;
    this.#primary = null;
    if (primary) {
      if (graceful) await primary.stop();
      else await primary.kill();
    }
    await this.#forwarder?.close();
    await this.#leadership.close();
    this.#rest?.clearHashSweeper();
    this.#rest?.clearHandlerSweeper();
    await this.#http?.close();
    this.#http = null;
    this.#readDb?.close();
    this.#readDb = null;
  }
}

export function createHost(options: HostOptions): Host {
  return new Host(options);
}

function withTimeout<T>(promise: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!promise) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ShardlineError('TIMEOUT', `gave up after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

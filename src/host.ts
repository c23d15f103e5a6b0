import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { REST } from '@discordjs/rest';
import type { GatewaySendPayload } from 'discord-api-types/v10';
import type { BotContext, BotDefinition } from './bot.ts';
import { intentsOf } from './bot.ts';
import type { Config } from './config/load-config.ts';
import { createControlApp, type Readiness } from './control/create-control-app.ts';
import { ShardlineError } from './core/errors.ts';
import type { Logger } from './core/ports.ts';
import type { ResumeInfo } from './core/resume-info.ts';
import type { HttpServerHandle, Runtime } from './core/runtime.ts';
import type { SqliteDriver, SqliteDriverFactory } from './core/sqlite.ts';
import { TypedEmitter } from './core/typed-emitter.ts';
import { LocalIdentifyThrottler } from './gateway/local-identify-throttler.ts';
import type { ShardOptions } from './gateway/shard-options.ts';
import { createRest, fetchGatewayBot } from './host/gateway-info.ts';
import { ShardRunner, type ShardRunnerStats } from './host/shard-runner.ts';
import { silentLogger } from './log/create-logger.ts';
import { runMigrations } from './store/migrate.ts';
import { openDatabase } from './store/open-database.ts';
import { listShardSessions, runReadOnlyQuery } from './store/queries.ts';
import { WriteFunnel, type WriteFunnelOptions, type WriteFunnelStats } from './store/write-funnel.ts';

export const VERSION = '0.1.0';

export interface HostOptions {
  readonly config: Config;
  readonly runtime: Pick<Runtime, 'transport' | 'sqlite' | 'serve'>;
  readonly bot?: BotDefinition;
  readonly logger?: Logger;
  /** Opens the database instead of `runtime.sqlite` (the simulated LiteFS wraps it). */
  readonly sqlite?: SqliteDriverFactory;
  /** Serve the HTTP API on config.httpHost:httpPort. Default true. */
  readonly serveHttp?: boolean;
  /** Identify spacing per bucket; Discord's is 5000 ms. Tests against the simulator lower both. */
  readonly identifySpacingMs?: number;
  /** Write funnel thresholds and retry backoff (tests: a low high-water mark to see back-pressure). */
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
}

/**
 * The composition root of one node. In the embedded default (no LiteFS) the node is its own
 * primary: it runs every shard, owns the funnel, and serves the HTTP API.
 */
export class Host extends TypedEmitter<HostEvents> {
  readonly config: Config;
  readonly #options: HostOptions;
  readonly #log: Logger;
  readonly #runners = new Map<number, ShardRunner>();
  #db: SqliteDriver | null = null;
  #readDb: SqliteDriver | null = null;
  #funnel: WriteFunnel | null = null;
  #rest: REST | null = null;
  #http: HttpServerHandle | null = null;
  #throttler: LocalIdentifyThrottler | null = null;
  #state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  #startedAt = 0;

  constructor(options: HostOptions) {
    const logger = options.logger ?? silentLogger();
    super((error, event) => logger.error({ err: error, event }, 'host listener threw'));
    this.#options = options;
    this.config = options.config;
    this.#log = logger.child({ component: 'host', node: options.config.nodeId });
  }

  get databasePath(): string {
    return join(this.config.dataDir, this.config.dbFile);
  }

  /** The HTTP API's base URL once started with serveHttp. */
  get url(): string | null {
    return this.#http?.url ?? null;
  }

  get shardCount(): number {
    return this.#runners.size === 0 ? 0 : [...this.#runners.values()][0]!.shardCount;
  }

  runner(shardId: number): ShardRunner | undefined {
    return this.#runners.get(shardId);
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new ShardlineError('CONFLICT', `Cannot start the host: it is ${this.#state}`);
    this.#state = 'starting';
    this.#startedAt = Date.now();
    try {
      await this.#start();
      this.#state = 'running';
    } catch (error) {
      await this.#teardown({ graceful: false });
      this.#state = 'closed';
      throw error;
    }
  }

  async #start(): Promise<void> {
    const config = this.config;
    const driverFactory = this.#options.sqlite ?? this.#options.runtime.sqlite;
    try {
      mkdirSync(config.dataDir, { recursive: true });
    } catch (error) {
      throw new ShardlineError('STORE_UNAVAILABLE', `Cannot create data directory ${config.dataDir}: ${(error as Error).message}`, { cause: error });
    }
    this.#db = openDatabase({ path: this.databasePath, driverFactory });
    const { applied } = await runMigrations(this.#db);
    if (applied.length > 0) this.#log.info({ applied }, 'migrations applied');
    this.#readDb = openDatabase({ path: this.databasePath, driverFactory, readonly: true });
    this.#funnel = new WriteFunnel({
      ...this.#options.funnelTuning,
      db: this.#db,
      flushIntervalMs: config.flushIntervalMs,
      errorListener: (error) => this.#log.warn({ err: error.message, code: error.code }, 'write funnel problem'),
    });
    this.#funnel.start();

    this.#rest = createRest(config.apiUrl, config.token);
    const gateway = await fetchGatewayBot(this.#rest, config.apiUrl);
    const shardCount = config.shardCount === 'auto' ? gateway.shards : config.shardCount;
    const sessions = new Map(listShardSessions(this.#readDb).filter((s) => s.shardCount === shardCount).map((s) => [s.shardId, s]));
    const toIdentify = shardCount - sessions.size;
    if (gateway.session_start_limit.remaining < toIdentify) {
      throw new ShardlineError(
        'IDENTIFY_REFUSED',
        `Cannot start ${toIdentify} new sessions: Discord allows ${gateway.session_start_limit.remaining} more today (resets in ${Math.ceil(gateway.session_start_limit.reset_after / 1000)} s)`,
      );
    }
    this.#throttler = new LocalIdentifyThrottler({
      maxConcurrency: Math.max(1, gateway.session_start_limit.max_concurrency),
      spacingMs: this.#options.identifySpacingMs ?? 5_000,
    });
    const intents = (this.#options.bot ? intentsOf(this.#options.bot) : 0) | (config.intents ?? 0);

    if (this.#options.serveHttp ?? true) {
      const app = createControlApp({
        adminToken: config.adminToken,
        clusterSecret: config.clusterSecret,
        logger: this.#log,
        readiness: () => this.readiness(),
        status: () => this.status(),
        query: (sql, params, limits) => runReadOnlyQuery(this.#readDb!, sql, params, limits),
      });
      this.#http = await this.#options.runtime.serve(app.fetch, { hostname: config.httpHost, port: config.httpPort });
      this.#log.info({ url: this.#http.url }, 'HTTP API listening');
    }

    for (let shardId = 0; shardId < shardCount; shardId++) {
      const runner = new ShardRunner({
        shard: {
          ...this.#options.shardTuning,
          shardId,
          shardCount,
          token: config.token,
          intents,
          gatewayUrl: gateway.url,
          transport: this.#options.runtime.transport,
          identifyThrottler: this.#throttler,
        },
        epoch: 1,
        writer: this.#funnel,
        bot: this.#options.bot,
        context: (r) => this.#context(r),
        logger: this.#log,
      });
      runner.shard.on('status', () => this.emit('progress', this.progress()));
      runner.shard.on('shardReady', (event) => this.emit('shardReady', { shardId: event.shardId, resumed: event.resumed }));
      this.#runners.set(shardId, runner);
    }
    this.emit('progress', this.progress());
    this.#log.info({ shardCount, resuming: sessions.size, identifying: toIdentify }, 'starting shards');
    await Promise.all(
      [...this.#runners.values()].map((runner) => {
        const session = sessions.get(runner.shardId);
        return runner.start(session ? toResumeInfo(session) : null);
      }),
    );
  }

  /** Graceful stop: every shard detaches resumably, its final seq is committed, then everything closes. */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#state = 'closing';
    await this.#teardown({ graceful: true });
    this.#state = 'closed';
  }

  /** Stops as abruptly as a crash can be simulated in-process: nothing more is committed. */
  async kill(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closing';
    await this.#teardown({ graceful: false });
    this.#state = 'closed';
  }

  progress(): StartupProgress {
    let identifying = 0;
    let resuming = 0;
    let ready = 0;
    for (const runner of this.#runners.values()) {
      const status = runner.shard.status;
      if (status === 'ready') ready++;
      else if (status === 'resuming') resuming++;
      else if (status === 'identifying' || status === 'connecting' || status === 'idle') identifying++;
    }
    return { total: this.#runners.size, identifying, resuming, ready };
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (this.#state !== 'running') reasons.push(`host is ${this.#state}`);
    if (!this.#db) reasons.push('database is not open');
    for (const runner of this.#runners.values()) {
      if (runner.shard.status !== 'ready') reasons.push(`shard ${runner.shardId} is ${runner.shard.status}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  status(): { node: Record<string, unknown>; shards: ShardRunnerStats[]; funnel: WriteFunnelStats | null } {
    return {
      node: { id: this.config.nodeId, role: 'primary', mode: 'embedded', version: VERSION, startedAt: this.#startedAt, state: this.#state },
      shards: [...this.#runners.values()].map((r) => r.stats()),
      funnel: this.#funnel?.stats() ?? null,
    };
  }

  /** Runs read-only SQL on this node's database (the same path as POST /query). */
  query(sql: string, params: readonly unknown[] = [], limits: { maxRows?: number; timeoutMs?: number } = {}): ReturnType<typeof runReadOnlyQuery> {
    if (!this.#readDb) throw new ShardlineError('STORE_UNAVAILABLE', `Cannot query: the host is ${this.#state}`);
    return runReadOnlyQuery(this.#readDb, sql, params, limits);
  }

  #context(runner: ShardRunner): BotContext {
    const readDb = (): SqliteDriver => {
      if (!this.#readDb) throw new ShardlineError('STORE_UNAVAILABLE', 'Cannot query the cache: the host is not running');
      return this.#readDb;
    };
    return {
      shardId: runner.shardId,
      shardCount: runner.shardCount,
      rest: this.#rest!,
      logger: this.#log.child({ shardId: runner.shardId, component: 'bot' }),
      sql: <T extends Record<string, unknown>>(query: string, params: readonly unknown[] = []) => {
        const result = runReadOnlyQuery(readDb(), query, params, { maxRows: 100_000 });
        return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])) as T);
      },
      send: (payload) => runner.send(payload as GatewaySendPayload),
    };
  }

  async #teardown(options: { graceful: boolean }): Promise<void> {
    const runners = [...this.#runners.values()];
    if (options.graceful) {
      const results = await Promise.allSettled(runners.map((r) => r.detach()));
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length > 0) this.#log.warn({ failed: failed.length }, 'some shards could not detach cleanly');
      await this.#funnel?.close();
    } else {
      await Promise.allSettled(runners.map((r) => r.stop()));
      // Whatever is still queued is lost, as in a crash; the shards resume from the last commit.
      this.#db?.close();
      this.#db = null;
      await this.#funnel?.close().catch(() => {});
    }
    this.#funnel = null;
    this.#rest?.clearHashSweeper();
    this.#rest?.clearHandlerSweeper();
    await this.#http?.close();
    this.#http = null;
    this.#readDb?.close();
    this.#readDb = null;
    this.#db?.close();
    this.#db = null;
  }
}

export function createHost(options: HostOptions): Host {
  return new Host(options);
}

function toResumeInfo(session: { shardId: number; shardCount: number; sessionId: string; seq: number; resumeGatewayUrl: string }): ResumeInfo {
  return { shardId: session.shardId, shardCount: session.shardCount, sessionId: session.sessionId, seq: session.seq, resumeGatewayUrl: session.resumeGatewayUrl };
}

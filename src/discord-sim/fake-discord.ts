import { createServer } from 'node:http';
import { SILENT_LOGGER } from '../core/silent-logger.ts';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { ApplicationFlags } from 'discord-api-types/v10';
import { ShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import { Dispatcher } from './dispatcher.ts';
import { FaultState } from './fault-state.ts';
import { Faults } from './faults.ts';
import type { ConnectionInfo } from './gateway-connection.ts';
import { GatewayServer } from './gateway-server.ts';
import { IdentifyLimiter } from './identify-limiter.ts';
import { Ledger } from './ledger.ts';
import { buildRestApp } from './rest-app.ts';
import { SessionRegistry } from './session-registry.ts';
import { DEFAULT_SHARD_RULES, recommendedShardCount, type ShardRules } from './shard-routing.ts';
import { buildSimControlRoutes } from './sim-control-routes.ts';
import { copySimStats, createSimStats } from './sim-stats.ts';
import type { SimStats } from './sim-stats.ts';
import { TimerRegistry } from './timer-registry.ts';
import { GuildGrowth } from './guild-growth.ts';
import { Traffic } from './traffic.ts';
import { generateWorld } from './world-generator.ts';
import type { WorldOptions } from './world-generator.ts';
import type { World, WorldView } from './world.ts';
import { MemberRequestLimiter } from './member-request-limiter.ts';
import { RestGate } from './rest-gate.ts';
import { RestLimits, type RestLimitsOptions } from './rest-limits.ts';
import { RestStats, type RestStatsSnapshot } from './rest-stats.ts';
import { buildRestControlRoutes } from './rest-control-routes.ts';

export type { ConnectionInfo } from './gateway-connection.ts';
export type { LedgerCheck, LedgerEvent, LedgerTransmission, HandledDispatch, LogicalCheck, LogicalEvent } from './ledger.ts';
export type { SimStats } from './sim-stats.ts';
export type { RestStatsSnapshot, RestCounts, RestClientStats } from './rest-stats.ts';
export { NODE_HEADER } from './rest-gate.ts';
export type { WorldOptions } from './world-generator.ts';
export type { WorldView, WorldGuild, WorldInteraction } from './world.ts';
export type { TrafficStartOptions } from './traffic.ts';
export type { TrafficMix, TrafficEvent } from './traffic-events.ts';
export { SIM_CLOSE_CODES } from './sim-close-codes.ts';

export interface FakeDiscordOptions {
  /** Accepted bot token (a `Bot ` prefix is accepted in IDENTIFY/RESUME). Default 'fake-token'. */
  token?: string;
  /**
   * The lowest shard count /gateway/bot recommends. Default 1. The answer is recomputed from the
   * world's guilds on every call (see guildsPerShard), so a growing world raises it.
   */
  shards?: number;
  /** /gateway/bot recommends one shard per this many guilds. Default 1000. */
  guildsPerShard?: number;
  /** A large bot's shard count must be a multiple of this (IDENTIFY closes 4010 otherwise); /gateway/bot rounds up to it. Default 1. */
  largeBotShardMultiple?: number;
  /** Guilds one session may hold: an IDENTIFY covering more is closed with 4011. Default 2500. */
  maxGuildsPerShard?: number;
  maxConcurrency?: number;
  /** Per identify bucket (shard_id % maxConcurrency). Default 5000. */
  identifySpacingMs?: number;
  heartbeatIntervalMs?: number;
  /** How long a disconnected session stays resumable. Default 180 000. */
  sessionTtlMs?: number;
  /** Dispatches kept per session for RESUME. Default 10 000. */
  replayBufferSize?: number;
  sessionStartLimit?: { total?: number; resetAfterMs?: number };
  /** Privileged intents allowed; default GUILD_MEMBERS, GUILD_PRESENCES and MESSAGE_CONTENT. */
  applicationFlags?: number;
  world?: WorldOptions;
  host?: string;
  port?: number;
  logger?: Logger;
  /** Delay before op 9 answers an IDENTIFY that broke the bucket spacing. Default 250. */
  invalidSessionDelayMs?: number;
  /** After op 7, the server closes a lingering connection after this long. Default 5000. */
  reconnectGraceMs?: number;
  /** REST rate limits: the global limit per token, the invalid-request ban, their clock (rest-limits.ts). */
  rest?: RestLimitsOptions & {
    /** More bot tokens REST accepts (each with its own limits); the gateway takes `token` only. */
    extraTokens?: readonly string[];
  };
}


const DEFAULT_APPLICATION_FLAGS =
  ApplicationFlags.GatewayGuildMembers | ApplicationFlags.GatewayPresence | ApplicationFlags.GatewayMessageContent;

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot create FakeDiscord: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return n;
}

/**
 * A simulated Discord (REST + gateway on one port) with a deterministic world, traffic,
 * faults and a delivery ledger. Exported as `shardline/testing`.
 */
export class FakeDiscord {
  readonly ledger: Ledger;
  readonly traffic: Traffic;
  readonly faults: Faults;
  /** The bot joining guilds: add some now, or at a rate (a world outgrowing its shards). */
  readonly guilds: GuildGrowth;
  readonly #world: World;
  readonly #timers = new TimerRegistry();
  readonly #stats = createSimStats();
  readonly #sessions: SessionRegistry;
  readonly #identifyLimiter: IdentifyLimiter;
  readonly #dispatcher: Dispatcher;
  readonly #restLimits: RestLimits;
  readonly #restStats: RestStats;
  readonly #restTokens: ReadonlySet<string>;
  readonly #faultState = new FaultState();
  readonly #options: Required<Pick<FakeDiscordOptions, 'token' | 'shards' | 'heartbeatIntervalMs' | 'applicationFlags' | 'host' | 'port' | 'invalidSessionDelayMs' | 'reconnectGraceMs'>>;
  readonly #logger: Logger;
  readonly #shardRules: ShardRules;
  #server: Server | null = null;
  #gateway: GatewayServer | null = null;
  #port = 0;
  #state: 'new' | 'starting' | 'running' | 'closed' = 'new';

  constructor(options: FakeDiscordOptions = {}) {
    const now = (): number => Date.now();
    this.#options = {
      token: options.token ?? 'fake-token',
      shards: positiveInt('shards', options.shards, 1),
      heartbeatIntervalMs: positiveInt('heartbeatIntervalMs', options.heartbeatIntervalMs, 41_250),
      applicationFlags: options.applicationFlags ?? DEFAULT_APPLICATION_FLAGS,
      host: options.host ?? '127.0.0.1',
      port: positiveInt('port', options.port, 0, 0),
      invalidSessionDelayMs: positiveInt('invalidSessionDelayMs', options.invalidSessionDelayMs, 250, 0),
      reconnectGraceMs: positiveInt('reconnectGraceMs', options.reconnectGraceMs, 5_000, 0),
    };
    if (this.#options.token.length === 0) throw new ShardlineError('INVALID_CONFIG', 'Cannot create FakeDiscord: token must not be empty');
    this.#shardRules = {
      floor: this.#options.shards,
      guildsPerShard: positiveInt('guildsPerShard', options.guildsPerShard, DEFAULT_SHARD_RULES.guildsPerShard),
      shardMultiple: positiveInt('largeBotShardMultiple', options.largeBotShardMultiple, DEFAULT_SHARD_RULES.shardMultiple),
      maxGuildsPerShard: positiveInt('maxGuildsPerShard', options.maxGuildsPerShard, DEFAULT_SHARD_RULES.maxGuildsPerShard),
    };
    this.#logger = (options.logger ?? SILENT_LOGGER).child({ component: 'discord-sim' });
    this.#world = generateWorld(options.world);
    this.#world.application.flags = this.#options.applicationFlags;
    this.ledger = new Ledger(now);
    this.#sessions = new SessionRegistry({
      sessionTtlMs: positiveInt('sessionTtlMs', options.sessionTtlMs, 180_000, 0),
      replayBufferSize: positiveInt('replayBufferSize', options.replayBufferSize, 10_000),
      ledger: this.ledger,
      now,
    });
    this.#identifyLimiter = new IdentifyLimiter({
      maxConcurrency: positiveInt('maxConcurrency', options.maxConcurrency, 1),
      identifySpacingMs: positiveInt('identifySpacingMs', options.identifySpacingMs, 5_000, 0),
      total: positiveInt('sessionStartLimit.total', options.sessionStartLimit?.total, 1000, 0),
      resetAfterMs: positiveInt('sessionStartLimit.resetAfterMs', options.sessionStartLimit?.resetAfterMs, 86_400_000),
      now,
    });
    this.#dispatcher = new Dispatcher(this.#sessions, this.#world, this.ledger);
    this.#restLimits = new RestLimits(options.rest);
    this.#restStats = new RestStats(this.#restLimits);
    this.#restTokens = new Set([this.#options.token, ...(options.rest?.extraTokens ?? [])]);
    this.traffic = new Traffic(
      this.#world,
      {
        toGuild: (guildId, event, data) => this.#dispatcher.dispatchToGuild(guildId, event, data),
        global: (event, data) => this.#dispatcher.dispatchGlobal(event, data),
      },
      this.#timers,
    );
    this.faults = new Faults(() => this.#gateway, this.#faultState);
    this.guilds = new GuildGrowth(this.#world, this.#dispatcher, this.#timers);
  }

  get world(): WorldView {
    return this.#world;
  }

  get port(): number {
    this.#assertRunning('port');
    return this.#port;
  }

  get restUrl(): string {
    this.#assertRunning('restUrl');
    return `http://${this.#urlHost()}:${this.#port}/api`;
  }

  get gatewayUrl(): string {
    this.#assertRunning('gatewayUrl');
    return `ws://${this.#urlHost()}:${this.#port}`;
  }

  /** What GET /gateway/bot answers as `shards` right now (it follows the world's guild count). */
  get recommendedShards(): number {
    return recommendedShardCount(this.#world.guilds.size, this.#shardRules);
  }

  get stats(): SimStats {
    return copySimStats(this.#stats);
  }

  /** What REST answered, per token, per client (node) and per route, and the limits it enforces. */
  get restStats(): RestStatsSnapshot {
    return this.#restStats.snapshot();
  }

  /** The REST limits (tests lift a ban with `forgive()`). */
  get restLimits(): RestLimits {
    return this.#restLimits;
  }

  /** Timers the sim currently holds (0 after close()). */
  get activeTimers(): number {
    return this.#timers.size;
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new ShardlineError('CONFLICT', `Cannot start FakeDiscord: it is already ${this.#state}`);
    this.#state = 'starting';
    const gateway = new GatewayServer({
      token: this.#options.token,
      heartbeatIntervalMs: this.#options.heartbeatIntervalMs,
      applicationFlags: this.#options.applicationFlags,
      world: this.#world,
      sessions: this.#sessions,
      identifyLimiter: this.#identifyLimiter,
      memberRequests: new MemberRequestLimiter(),
      ledger: this.ledger,
      timers: this.#timers,
      stats: this.#stats,
      faults: this.#faultState,
      logger: this.#logger,
      now: () => Date.now(),
      invalidSessionDelayMs: this.#options.invalidSessionDelayMs,
      reconnectGraceMs: this.#options.reconnectGraceMs,
      shardRules: this.#shardRules,
      resumeGatewayUrl: () => `${this.gatewayUrl}/resume`,
    });
    const stats = this.#stats;
    const restStats = this.#restStats;
    const control = buildSimControlRoutes({ faults: this.faults, ledger: this.ledger, traffic: this.traffic, guilds: this.guilds, get stats() { return { ...copySimStats(stats), rest: restStats.snapshot() }; } });
    control.route('/rest', buildRestControlRoutes(this.#restLimits, this.#restStats));
    const app = buildRestApp(
      {
        token: this.#options.token,
        recommendedShards: () => this.recommendedShards,
        world: this.#world,
        dispatcher: this.#dispatcher,
        identifyLimiter: this.#identifyLimiter,
        gate: new RestGate({ limits: this.#restLimits, stats: this.#restStats, tokens: this.#restTokens }),
        stats: this.#stats,
        gatewayUrl: () => this.gatewayUrl,
      },
      control,
    );
    const server = createServer(getRequestListener(app.fetch));
    server.on('upgrade', (request, socket, head) => gateway.handleUpgrade(request, socket, head));
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, this.#options.host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      this.#state = 'closed';
      throw new ShardlineError('INVALID_CONFIG', `Cannot start FakeDiscord on ${this.#options.host}:${this.#options.port}: ${(error as Error).message}`, { cause: error });
    });
    this.#server = server;
    this.#gateway = gateway;
    this.#port = (server.address() as AddressInfo).port;
    this.#state = 'running';
    this.#logger.info({ restUrl: this.restUrl }, 'simulated Discord listening');
  }

  /** Sends a dispatch to every session whose shard owns `guildId`; returns how many sessions got it. */
  dispatchToGuild(guildId: string, event: string, data: unknown): number {
    if (!/^\d+$/.test(guildId)) throw new ShardlineError('INVALID_INPUT', `Cannot dispatch ${event}: guild id ${guildId} is not a snowflake`);
    return this.#dispatcher.dispatchToGuild(guildId, event, data);
  }

  /** Sends a guild-less dispatch (shard 0 of every session). */
  dispatchGlobal(event: string, data: unknown): number {
    return this.#dispatcher.dispatchGlobal(event, data);
  }

  connections(shardId?: number): ConnectionInfo[] {
    return this.#gateway?.connections(shardId) ?? [];
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.traffic.stop();
    this.guilds.stop();
    const server = this.#server;
    const gateway = this.#gateway;
    await gateway?.close();
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    this.#timers.clearAll();
    this.#sessions.clear();
    this.#faultState.reset();
  }

  #urlHost(): string {
    const host = this.#options.host;
    if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
    return host.includes(':') ? `[${host}]` : host;
  }

  #assertRunning(what: string): void {
    if (this.#state !== 'running' && this.#state !== 'starting') {
      throw new ShardlineError('CLOSED', `Cannot read FakeDiscord.${what}: the sim is ${this.#state} (call start() first)`);
    }
  }
}

import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';
import type { BotContext, BotDefinition, DispatchHandlers } from '../bot.ts';
import { isShardlineError } from '../core/errors.ts';
import type { CacheTable, Mutation, WriteEntry, Writer } from '../core/mutation.ts';
import type { Logger } from '../core/ports.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import { Shard } from '../gateway/shard.ts';
import type { DispatchContext, ShardOptions } from '../gateway/shard-options.ts';
import type { ShardStatus } from '../gateway/shard-status.ts';
import { dispatchKey } from '../core/event-identity.ts';
import { skippedTables, withoutTables } from '../store/cache-tables.ts';
import { dispatchMutations } from '../store/dispatch-mutations.ts';
import { EventTypeCounts } from './event-type-counts.ts';
import { HandledKeys, ShadowBuffer, replayPlan, type BufferedDispatch } from './reshard-buffer.ts';

/**
 * `live`: the shard's dispatches reach the cache and the handlers. `shadow`: a shard of a
 * reshard's new set before its range switched: it holds its dispatches back (commits only its
 * seq) until takeOver().
 */
export type RunnerMode = 'live' | 'shadow';

export interface RunnerReshardTuning {
  /** How long after READY a shadow shard's GUILD_CREATE burst counts as over anyway. Default 30 000. */
  readonly burstTimeoutMs?: number;
  /** Id-less dispatches from this long before the hand-over point reach the handlers again. Default 250. */
  readonly overlapMs?: number;
}

/** What an old-set runner answers when its range switches. */
export interface RetireResult {
  /** Id-carrying dispatches its handlers saw while the reshard ran. */
  readonly keys: string[];
  /** It was not running (failed, e.g. closed with 4011): its range had no current cache rows. */
  readonly uncovered: boolean;
}

export interface TakeOverOptions {
  readonly skipKeys: ReadonlySet<string>;
  readonly uncovered: boolean;
}

export interface ShardRunnerOptions {
  readonly shard: Omit<ShardOptions, 'onDispatch' | 'logger'>;
  /** The assignment epoch this node runs the shard at; every write carries it. */
  readonly epoch: number;
  /** The shard set (contract 13); every write carries it too. */
  readonly generation?: number;
  readonly mode?: RunnerMode;
  readonly reshard?: RunnerReshardTuning;
  readonly writer: Writer;
  readonly bot: BotDefinition | undefined;
  readonly context: (runner: ShardRunner) => BotContext;
  readonly logger: Logger;
  /** The writer refused this shard's epoch: the shard must stop at once (contract 5). */
  readonly onFenced?: (runner: ShardRunner) => void;
}

export interface ShardRunnerStats {
  readonly shardId: number;
  readonly shardCount: number;
  readonly generation: number;
  readonly mode: RunnerMode;
  /** A shadow shard's GUILD_CREATE burst is over (it may switch); always true for a live one. */
  readonly caughtUp: boolean;
  /** The close code that failed the shard for good (4011 asks for a reshard), else null. */
  readonly closeCode: number | null;
  readonly epoch: number;
  readonly status: ShardStatus;
  readonly sessionId: string | null;
  readonly seq: number | null;
  /** Epoch ms of the current session's READY or RESUMED on this node. */
  readonly readySince: number | null;
  readonly events: number;
  readonly identifies: number;
  readonly resumes: number;
  readonly reconnects: number;
  readonly heartbeatMs: number | null;
  readonly eventsByType: Readonly<Record<string, number>>;
}

/**
 * One shard on this node: the gateway connection, and the path of each dispatch to the cache
 * (through the writer, with the seq committed alongside) and to the bot's handlers.
 */
export class ShardRunner {
  readonly shard: Shard;
  readonly shardId: number;
  readonly shardCount: number;
  readonly generation: number;
  epoch: number;
  readonly #options: ShardRunnerOptions;
  #mode: RunnerMode;
  #buffer: ShadowBuffer | null = null;
  /** While a reshard runs: the id-carrying dispatches the handlers saw (the switch skips them). */
  #handled: HandledKeys | null = null;
  #retired = false;
  /** A take-over replaying the buffer: dispatches arriving meanwhile wait for it. */
  #takingOver: Promise<void> | null = null;
  #closeCode: number | null = null;
  readonly #log: Logger;
  readonly #handlers: DispatchHandlers;
  /** Tables the bot turned off (`cache`): their rows are dropped before they reach the writer. */
  readonly #skipped: ReadonlySet<CacheTable>;
  #context: BotContext | null = null;
  #fenced = false;
  #stats = { events: 0, identifies: 0, resumes: 0, reconnects: 0, readySince: null as number | null, heartbeatMs: null as number | null };
  readonly #byType = new EventTypeCounts();

  constructor(options: ShardRunnerOptions) {
    this.#options = options;
    this.shardId = options.shard.shardId;
    this.shardCount = options.shard.shardCount;
    this.epoch = options.epoch;
    this.generation = options.generation ?? 0;
    this.#mode = options.mode ?? 'live';
    if (this.#mode === 'shadow') this.#buffer = new ShadowBuffer({ burstTimeoutMs: options.reshard?.burstTimeoutMs ?? 30_000 });
    this.#log = options.logger.child({ shardId: this.shardId, ...(this.generation > 0 ? { generation: this.generation } : {}) });
    this.#handlers = options.bot?.handlers ?? {};
    this.#skipped = skippedTables(options.bot?.cache);
    this.shard = new Shard({ ...options.shard, logger: options.logger, onDispatch: (payload, context) => this.#onDispatch(payload, context) });
    this.shard.on('shardReady', (event) => this.#onShardReady(event.resumed));
    this.shard.on('heartbeat', (event) => (this.#stats.heartbeatMs = event.latencyMs));
    this.shard.on('closed', (event) => {
      if (!event.byClient) this.#stats.reconnects += 1;
    });
    this.shard.on('error', (error) => {
      const code = error.details['closeCode'];
      if (typeof code === 'number') this.#closeCode = code;
    });
  }

  get mode(): RunnerMode {
    return this.#mode;
  }

  get retired(): boolean {
    return this.#retired;
  }

  get caughtUp(): boolean {
    return this.#buffer ? this.#buffer.caughtUp(Date.now()) : true;
  }

  get closeCode(): number | null {
    return this.#closeCode;
  }

  /** Starts (or stops) keeping the keys of the id-carrying dispatches the handlers see: on while a reshard runs. */
  trackHandled(on: boolean): void {
    if (on) this.#handled ??= new HandledKeys();
    else this.#handled = null;
  }

  /** The keys seen so far (also kept by the node when the runner is handed away mid-reshard). */
  handledKeys(): string[] {
    return this.#handled?.values() ?? [];
  }

  /**
   * The range of this old-set shard switched to the new set: stop delivering (to handlers and
   * to the cache) at once and close with 1000 so Discord ends the session: it is never resumed
   * again (contract 13). Its writes still queued need no flush: the switch bumps its epoch
   * before the new shards write, so any that arrive later are refused as stale, and the new
   * shards' rebuild of the range holds every event they carried.
   */
  retire(): RetireResult {
    const uncovered = this.shard.status === 'failed' || this.shard.status === 'stopped' || this.shard.status === 'idle';
    this.#retired = true;
    const keys = this.handledKeys();
    void this.shard.close({ endSession: true }).catch(() => {});
    this.#log.info({ keys: keys.length, uncovered }, 'shard retired: its range switched to the new shard set');
    return { keys, uncovered };
  }

  /**
   * This new-set shard's range switched: replay what it held back (cache effects in one write,
   * handlers as replayPlan() says), then deliver live. Dispatches that arrive meanwhile wait.
   */
  takeOver(options: TakeOverOptions): Promise<void> {
    if (this.#mode === 'live' || this.#fenced) return this.#takingOver ?? Promise.resolve();
    if (this.#takingOver) return this.#takingOver;
    const overlapMs = this.#options.reshard?.overlapMs ?? 250;
    const run = async (): Promise<void> => {
      // Dispatches arriving from here on wait for #takingOver, then go the live way.
      const plan = replayPlan(this.#buffer?.drain() ?? [], { ...options, overlapMs });
      await this.#replayCache(plan.cache);
      if (this.#fenced) return;
      for (const item of plan.handlers) this.#deliverToBot(item.payload, item.context);
      this.#mode = 'live';
      this.#buffer = null;
      this.#log.info({ skipKeys: options.skipKeys.size, uncovered: options.uncovered, replayed: plan.handlers.length }, 'shard took over its range from the old shard set');
      this.#onShardReady(false);
    };
    this.#takingOver = run().finally(() => {
      this.#takingOver = null;
    });
    return this.#takingOver;
  }

  async #replayCache(items: readonly BufferedDispatch[]): Promise<void> {
    if (items.length === 0) return;
    // The range is rebuilt from the snapshot, as an IDENTIFY would: cleared first (READY clears it
    // too, but a shadow resumed after a failover holds no READY, only what came after it).
    const clear: Mutation = { op: 'clearShard', shardId: this.shardId, shardCount: this.shardCount };
    const mutations = [clear, ...items.flatMap((item) => withoutTables(dispatchMutations(item.payload, this.shardId, this.shardCount), this.#skipped))];
    const last = items.at(-1)!;
    const url = this.shard.resumeGatewayUrl;
    const entry: WriteEntry = { shardId: this.shardId, epoch: this.epoch, generation: this.generation, mutations };
    if (url && last.context.seq !== null) entry.session = { sessionId: last.context.sessionId, seq: last.context.seq, resumeGatewayUrl: url, shardCount: this.shardCount };
    // One entry, so one transaction: readers never see the replay half applied.
    await this.#commit(entry);
  }

  get context(): BotContext {
    return (this.#context ??= this.#options.context(this));
  }

  /** Identifies, or resumes from `resume` (a committed session or a handoff). */
  start(resume?: ResumeInfo | null): Promise<void> {
    this.#fenced = false;
    return this.shard.start(resume ? { resume } : {});
  }

  /**
   * Planned stop. By default the final resume info is enqueued for commit before this
   * resolves; a handoff passes `commit: false` because the coordinator commits it together
   * with the new epoch.
   */
  async detach(options: { commit?: boolean } = {}): Promise<ResumeInfo | null> {
    if (!this.shard.resumeInfo()) {
      await this.shard.close();
      return null;
    }
    const info = await this.shard.detach();
    // A shadow's committed session stays at its READY: resuming from there brings its snapshot back.
    if (!this.#fenced && options.commit !== false && this.#mode === 'live') await this.#commit({ shardId: this.shardId, epoch: this.epoch, generation: this.generation, mutations: [], session: sessionOf(info) });
    return info;
  }

  /** Stops without committing anything more (fenced, or the node is going away abruptly). */
  async stop(): Promise<void> {
    await this.shard.close();
  }

  send(payload: GatewaySendPayload): Promise<void> {
    return this.shard.send(payload);
  }

  stats(): ShardRunnerStats {
    const info = this.shard.resumeInfo();
    return {
      shardId: this.shardId,
      shardCount: this.shardCount,
      generation: this.generation,
      mode: this.#mode,
      caughtUp: this.caughtUp,
      closeCode: this.#closeCode,
      epoch: this.epoch,
      status: this.shard.status,
      sessionId: info?.sessionId ?? null,
      seq: info?.seq ?? null,
      readySince: this.#stats.readySince,
      events: this.#stats.events,
      identifies: this.#stats.identifies,
      resumes: this.#stats.resumes,
      reconnects: this.#stats.reconnects,
      heartbeatMs: this.#stats.heartbeatMs,
      eventsByType: this.#byType.snapshot(),
    };
  }

  /** Synchronous unless the writer pushes back: then the shard waits (and stops reading) until it accepts. */
  #onDispatch(payload: GatewayDispatchPayload, context: DispatchContext): void | Promise<void> {
    if (this.#fenced || this.#retired) return;
    if (this.#takingOver) return this.#takingOver.then(() => this.#onDispatch(payload, context));
    this.#stats.events += 1;
    this.#byType.count(payload.t);
    if (this.#buffer) return this.#hold(payload, context);
    if (context.seq !== null) {
      const resumeGatewayUrl = payload.t === 'READY' ? payload.d.resume_gateway_url : this.shard.resumeGatewayUrl;
      const entry: WriteEntry = {
        shardId: this.shardId,
        epoch: this.epoch,
        generation: this.generation,
        mutations: withoutTables(dispatchMutations(payload, this.shardId, this.shardCount), this.#skipped),
      };
      if (resumeGatewayUrl) entry.session = { sessionId: context.sessionId, seq: context.seq, resumeGatewayUrl, shardCount: this.shardCount };
      if (!(this.#options.writer.offer?.(entry) ?? false)) return this.#commitThenDeliver(entry, payload, context);
    }
    this.#deliverToBot(payload, context);
  }

  async #commitThenDeliver(entry: WriteEntry, payload: GatewayDispatchPayload, context: DispatchContext): Promise<void> {
    // Awaiting the writer is the back-pressure: a full funnel slows this shard's reading.
    await this.#commit(entry);
    if (this.#fenced) return;
    this.#deliverToBot(payload, context);
  }

  /**
   * Shadow: held back (the old set keeps the cache current meanwhile). Only READY's seq is
   * committed: a failover then resumes from it, and Discord replays the snapshot and every event
   * since, which is exactly what this buffer held. Committing a later seq would lose the snapshot.
   */
  #hold(payload: GatewayDispatchPayload, context: DispatchContext): void | Promise<void> {
    this.#buffer!.push(payload, context, Date.now());
    if (context.seq === null || payload.t !== 'READY') return;
    const resumeGatewayUrl = payload.d.resume_gateway_url;
    if (!resumeGatewayUrl) return;
    const entry: WriteEntry = {
      shardId: this.shardId,
      epoch: this.epoch,
      generation: this.generation,
      mutations: [],
      session: { sessionId: context.sessionId, seq: context.seq, resumeGatewayUrl, shardCount: this.shardCount },
    };
    if (!(this.#options.writer.offer?.(entry) ?? false)) return this.#commit(entry);
  }

  #deliverToBot(payload: GatewayDispatchPayload, context: DispatchContext): void {
    // The bot asked for something Discord refused for now (an all-members op 8 within 30 s): its chunks will not come.
    if (payload.t === 'RATE_LIMITED') {
      // `d` comes from the network: read it without assuming its shape, or the handlers below never run.
      const d = payload.d as Partial<typeof payload.d> | null | undefined;
      this.#log.warn({ opcode: d?.opcode, retryAfterS: d?.retry_after, meta: d?.meta }, 'Discord rate-limited a gateway request of the bot; nothing answers it');
    }
    // Called here rather than through a closure: this runs for every event.
    const onDispatch = this.#options.bot?.onDispatch;
    if (onDispatch) {
      try {
        this.#settle(null, onDispatch({ t: payload.t, d: payload.d, shardId: this.shardId, sessionId: context.sessionId, seq: context.seq }, this.context));
      } catch (error) {
        this.#log.error({ err: error }, 'onDispatch threw');
      }
    }
    const handler = this.#handlers[payload.t] as ((data: unknown, context: BotContext) => unknown) | undefined;
    if (handler) {
      try {
        this.#settle(payload.t, handler(payload.d, this.context));
      } catch (error) {
        this.#log.error({ err: error }, `handler ${payload.t} threw`);
      }
    }
    if (this.#handled) {
      const key = dispatchKey(payload.t, payload.d);
      if (key !== null) this.#handled.add(key);
    }
  }

  #onShardReady(resumed: boolean): void {
    const info = this.shard.resumeInfo();
    this.#stats.readySince = Date.now();
    // A shadow shard is not live for the bot yet: its shardReady comes with the take-over.
    if (this.#buffer) return;
    if (resumed) this.#stats.resumes += 1;
    else this.#stats.identifies += 1;
    const hook = this.#options.bot?.shardReady;
    if (hook && info) this.#invoke('shardReady', () => hook({ shardId: this.shardId, kind: resumed ? 'resume' : 'identify', session: info }, this.context));
  }

  async #commit(entry: WriteEntry): Promise<void> {
    try {
      await this.#options.writer.enqueue(entry);
    } catch (error) {
      if (isShardlineError(error, 'STALE_EPOCH')) {
        this.fence();
        return;
      }
      throw error;
    }
  }

  /** The shard was reassigned elsewhere: stop delivering and close at once, without ending the session. */
  fence(): void {
    if (this.#fenced) return;
    this.#fenced = true;
    this.#log.warn({ epoch: this.epoch }, 'shard fenced: its assignment moved; stopping it');
    this.#options.onFenced?.(this);
    void this.shard.close().catch(() => {});
  }

  // Handlers run concurrently with the stream: a slow handler must not stall the shard.
  #invoke(what: string, fn: () => unknown): void {
    try {
      const result = fn();
      if (result instanceof Promise) result.catch((error: unknown) => this.#log.error({ err: error }, `${what} threw`));
    } catch (error) {
      this.#log.error({ err: error }, `${what} threw`);
    }
  }

  /** A handler's promise (`t`: of the handler for t, null: of onDispatch) is not awaited; its rejection is logged. */
  #settle(t: string | null, result: unknown): void {
    if (result instanceof Promise) result.catch((error: unknown) => this.#log.error({ err: error }, `${t === null ? 'onDispatch' : `handler ${t}`} threw`));
  }
}

function sessionOf(info: ResumeInfo): WriteEntry['session'] {
  return { sessionId: info.sessionId, seq: info.seq, resumeGatewayUrl: info.resumeGatewayUrl, shardCount: info.shardCount };
}

import type { GatewayDispatchPayload, GatewaySendPayload } from 'discord-api-types/v10';
import type { BotContext, BotDefinition, DispatchHandlers } from '../bot.ts';
import { isShardlineError } from '../core/errors.ts';
import type { CacheTable, WriteEntry, Writer } from '../core/mutation.ts';
import type { Logger } from '../core/ports.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import { Shard } from '../gateway/shard.ts';
import type { DispatchContext, ShardOptions } from '../gateway/shard-options.ts';
import type { ShardStatus } from '../gateway/shard-status.ts';
import { skippedTables, withoutTables } from '../store/cache-tables.ts';
import { dispatchMutations } from '../store/dispatch-mutations.ts';
import { EventTypeCounts } from './event-type-counts.ts';

export interface ShardRunnerOptions {
  readonly shard: Omit<ShardOptions, 'onDispatch' | 'logger'>;
  /** The assignment epoch this node runs the shard at; every write carries it. */
  readonly epoch: number;
  readonly writer: Writer;
  readonly bot: BotDefinition | undefined;
  readonly context: (runner: ShardRunner) => BotContext;
  readonly logger: Logger;
  /** The writer refused this shard's epoch: the shard must stop at once (contract 5). */
  readonly onFenced?: (runner: ShardRunner) => void;
}

export interface ShardRunnerStats {
  readonly shardId: number;
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
  epoch: number;
  readonly #options: ShardRunnerOptions;
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
    this.#log = options.logger.child({ shardId: this.shardId });
    this.#handlers = options.bot?.handlers ?? {};
    this.#skipped = skippedTables(options.bot?.cache);
    this.shard = new Shard({ ...options.shard, logger: options.logger, onDispatch: (payload, context) => this.#onDispatch(payload, context) });
    this.shard.on('shardReady', (event) => this.#onShardReady(event.resumed));
    this.shard.on('heartbeat', (event) => (this.#stats.heartbeatMs = event.latencyMs));
    this.shard.on('closed', (event) => {
      if (!event.byClient) this.#stats.reconnects += 1;
    });
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
    if (!this.#fenced && options.commit !== false) await this.#commit({ shardId: this.shardId, epoch: this.epoch, mutations: [], session: sessionOf(info) });
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
    if (this.#fenced) return;
    this.#stats.events += 1;
    this.#byType.count(payload.t);
    if (context.seq !== null) {
      const resumeGatewayUrl = payload.t === 'READY' ? payload.d.resume_gateway_url : this.shard.resumeGatewayUrl;
      const entry: WriteEntry = {
        shardId: this.shardId,
        epoch: this.epoch,
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

  #deliverToBot(payload: GatewayDispatchPayload, context: DispatchContext): void {
    // The bot asked for something Discord refused for now (an all-members op 8 within 30 s): its chunks will not come.
    if (payload.t === 'RATE_LIMITED') {
      // `d` comes from the network: read it without assuming its shape, or the handlers below never run.
      const d = payload.d as Partial<typeof payload.d> | null | undefined;
      this.#log.warn({ opcode: d?.opcode, retryAfterS: d?.retry_after, meta: d?.meta }, 'Discord rate-limited a gateway request of the bot; nothing answers it');
    }
    const onDispatch = this.#options.bot?.onDispatch;
    if (onDispatch) {
      const event = { t: payload.t, d: payload.d, shardId: this.shardId, sessionId: context.sessionId, seq: context.seq };
      this.#invoke('onDispatch', () => onDispatch(event, this.context));
    }
    const handler = this.#handlers[payload.t] as ((data: unknown, context: BotContext) => unknown) | undefined;
    if (handler) this.#invoke(`handler ${payload.t}`, () => handler(payload.d, this.context));
  }

  #onShardReady(resumed: boolean): void {
    const info = this.shard.resumeInfo();
    this.#stats.readySince = Date.now();
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
}

function sessionOf(info: ResumeInfo): WriteEntry['session'] {
  return { sessionId: info.sessionId, seq: info.seq, resumeGatewayUrl: info.resumeGatewayUrl, shardCount: info.shardCount };
}

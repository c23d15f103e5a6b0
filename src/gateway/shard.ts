import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { GatewayDispatchPayload, GatewayIdentify, GatewayResume, GatewaySendPayload } from 'discord-api-types/v10';
import { backoffDelay } from '../core/abort.ts';
import { OWN_CLOSE_CODES, closePolicy } from '../core/close-codes.ts';
import { ShardlineError, abortReason } from '../core/errors.ts';
import { parseResumeInfo } from '../core/resume-info.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import { TypedEmitter } from '../core/typed-emitter.ts';
import { utf8Length } from './frame-decoder.ts';
import { buildGatewayUrl } from './gateway-url.ts';
import { linkSignals } from './linked-signal.ts';
import { SendLimiter } from './send-limiter.ts';
import { SendQueue } from './send-queue.ts';
import { ShardConnection } from './shard-connection.ts';
import type { ConnectionEnd, ConnectionPlan } from './shard-connection.ts';
import type { ShardEvents } from './shard-events.ts';
import { resolveShardOptions } from './shard-options.ts';
import type { ResolvedShardOptions, ShardOptions } from './shard-options.ts';
import { canStart } from './shard-status.ts';
import type { ShardStatus } from './shard-status.ts';
import { TimerSet } from './timer-set.ts';

/** Largest client payload Discord accepts (UTF-8 bytes of the JSON). */
export const MAX_SEND_BYTES = 4096;

/** Ops the bot may send through `send()`; heartbeat, IDENTIFY and RESUME belong to the shard. */
const USER_OPS: ReadonlySet<number> = new Set([
  GatewayOpcodes.PresenceUpdate,
  GatewayOpcodes.VoiceStateUpdate,
  GatewayOpcodes.RequestGuildMembers,
  GatewayOpcodes.RequestSoundboardSounds,
  GatewayOpcodes.RequestChannelInfo,
]);

interface Session {
  sessionId: string;
  resumeGatewayUrl: string;
  /** Last handled seq. */
  seq: number;
}

export interface ShardStartOptions {
  /** Resume this session (from detach() on any process) instead of identifying. */
  resume?: ResumeInfo;
  /** Aborting before READY/RESUMED stops the shard (resumably) and rejects. */
  signal?: AbortSignal;
}

/**
 * One gateway shard over the GatewayTransport port. It decides resume / identify / stop
 * from the close-code table, identifies only through the IdentifyThrottler, and delivers
 * dispatches one at a time so that its seq (and so its resume info) only ever covers
 * handled events.
 */
export class Shard extends TypedEmitter<ShardEvents> {
  readonly shardId: number;
  readonly shardCount: number;
  readonly #o: ResolvedShardOptions;
  readonly #timers = new TimerSet();
  readonly #limiter: SendLimiter;
  readonly #sendQueue: SendQueue;
  #status: ShardStatus = 'idle';
  #session: Session | null = null;
  #connection: ShardConnection | null = null;
  #life: AbortController | null = null;
  #loop: Promise<void> | null = null;
  #stopping: Promise<void> | null = null;
  #resumeFailures = 0;
  #connectFailures = 0;
  #startWaiter: { resolve: () => void; reject: (error: unknown) => void } | null = null;

  constructor(options: ShardOptions) {
    const resolved = resolveShardOptions(options);
    super((error, event) => resolved.logger.error({ err: error, event }, 'Shard event listener threw'));
    this.#o = resolved;
    this.shardId = options.shardId;
    this.shardCount = options.shardCount;
    this.#limiter = new SendLimiter(options.sendLimit ?? {});
    this.#sendQueue = new SendQueue(this.#limiter, this.#o.clock, (ms, signal) => this.#timers.sleep(ms, signal));
  }

  get status(): ShardStatus {
    return this.#status;
  }

  /** Timers the shard holds right now (0 after close/detach; for tests and diagnostics). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** The current session's resume URL (null before the first READY); no object per call. */
  get resumeGatewayUrl(): string | null {
    return this.#session?.resumeGatewayUrl ?? null;
  }

  /** The session as far as the bot has handled it, or null when there is none. */
  resumeInfo(): ResumeInfo | null {
    const s = this.#session;
    if (!s) return null;
    return { shardId: this.shardId, shardCount: this.shardCount, sessionId: s.sessionId, seq: s.seq, resumeGatewayUrl: s.resumeGatewayUrl };
  }

  /** Connects; resolves on the first READY or RESUMED handled, rejects with GATEWAY_FATAL. */
  start(options: ShardStartOptions = {}): Promise<void> {
    if (!canStart(this.#status) || this.#stopping) {
      return Promise.reject(new ShardlineError('CONFLICT', `Cannot start shard ${this.shardId}: it is ${this.#status}`));
    }
    if (options.signal?.aborted) return Promise.reject(abortReason(options.signal));
    if (options.resume) {
      let info: ResumeInfo;
      try {
        info = parseResumeInfo(options.resume);
      } catch (error) {
        return Promise.reject(error);
      }
      if (info.shardId !== this.shardId || info.shardCount !== this.shardCount) {
        return Promise.reject(
          new ShardlineError(
            'INVALID_INPUT',
            `Cannot resume shard [${this.shardId}, ${this.shardCount}] from resume info of shard [${info.shardId}, ${info.shardCount}]`,
          ),
        );
      }
      this.#session = { sessionId: info.sessionId, resumeGatewayUrl: info.resumeGatewayUrl, seq: info.seq };
    }
    this.#resumeFailures = 0;
    this.#connectFailures = 0;
    this.#life = new AbortController();
    const ready = new Promise<void>((resolve, reject) => (this.#startWaiter = { resolve, reject }));
    const signal = options.signal;
    if (signal) {
      const onAbort = (): void => {
        const waiter = this.#startWaiter;
        this.#startWaiter = null;
        waiter?.reject(abortReason(signal));
        void this.close();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const forget = (): void => signal.removeEventListener('abort', onAbort);
      ready.then(forget, forget);
    }
    this.#loop = this.#run(this.#life.signal);
    return ready;
  }

  /**
   * Hands the session over: stops delivering, closes with the detach code (the session stays
   * resumable), waits for the close and the in-flight handler, and returns the resume info
   * with the last handled seq. Undelivered frames are dropped: the next owner gets them by replay.
   */
  async detach(): Promise<ResumeInfo> {
    if (this.#status === 'detached' && this.#session) return this.resumeInfo()!;
    if (!this.#session) {
      throw new ShardlineError('CONFLICT', `Cannot detach shard ${this.shardId}: no session to hand over (status ${this.#status})`);
    }
    if (this.#status === 'stopped' || this.#status === 'failed' || this.#status === 'idle') {
      throw new ShardlineError('CONFLICT', `Cannot detach shard ${this.shardId}: it is ${this.#status}`);
    }
    await this.#shutdown(OWN_CLOSE_CODES.detach, 'detached for handoff', 'detached');
    const info = this.resumeInfo();
    if (!info) throw new ShardlineError('INTERNAL', `Shard ${this.shardId} lost its session while detaching`);
    return info;
  }

  /**
   * Stops everything: no socket, no timer left. By default the close is resumable (a restarted
   * host can resume from resumeInfo()); `endSession: true` closes with 1000 and ends the session.
   */
  async close(options: { endSession?: boolean } = {}): Promise<void> {
    if (this.#stopping) await this.#stopping;
    if (this.#loop && this.#status !== 'stopped' && this.#status !== 'detached' && this.#status !== 'failed') {
      await this.#shutdown(options.endSession ? 1000 : OWN_CLOSE_CODES.detach, options.endSession ? 'shard stopped' : 'shard stopped, session kept', 'stopped');
    } else if (this.#status === 'idle') {
      this.#setStatus('stopped');
    }
    if (options.endSession) this.#session = null;
  }

  /** Sends op 3/4/8/31/43 through the outbound rate limit; waits until the shard is ready. */
  async send(payload: GatewaySendPayload, options: { signal?: AbortSignal } = {}): Promise<void> {
    const op = (payload as { op?: unknown } | null)?.op;
    if (typeof op !== 'number' || !USER_OPS.has(op)) {
      throw new ShardlineError('INVALID_INPUT', `Cannot send op ${JSON.stringify(op)} on shard ${this.shardId}: only ops ${[...USER_OPS].join(', ')} may be sent; the shard sends heartbeats, IDENTIFY and RESUME itself`);
    }
    const text = JSON.stringify(payload);
    const bytes = utf8Length(text);
    if (bytes > MAX_SEND_BYTES) {
      throw new ShardlineError('PAYLOAD_REJECTED', `Cannot send op ${op} on shard ${this.shardId}: payload is ${bytes} bytes, Discord accepts at most ${MAX_SEND_BYTES}`, { details: { shardId: this.shardId, op, bytes } });
    }
    const linked = linkSignals([options.signal, this.#life?.signal]);
    try {
      for (;;) {
        await this.#waitUntilReady(linked.signal);
        await this.#sendQueue.acquire(linked.signal);
        if (this.#status === 'ready' && this.#connection?.trySend(text)) return;
      }
    } finally {
      linked.dispose();
    }
  }

  async #run(life: AbortSignal): Promise<void> {
    let delayMs = 0;
    while (!life.aborted) {
      if (delayMs > 0) {
        this.#setStatus('reconnecting');
        try {
          await this.#timers.sleep(delayMs, life);
        } catch {
          break;
        }
      }
      const plan: ConnectionPlan = this.#session ? 'resume' : 'identify';
      const end = await this.#runConnection(plan, life);
      if (life.aborted || this.#stopping) break;
      if (end?.action === 'fatal') {
        this.#fail(end);
        break;
      }
      if (plan === 'resume' && !end?.reachedReady) this.#resumeFailures++;
      const wantsResume = end ? end.action === 'resume' : plan === 'resume';
      if (this.#session && (!wantsResume || this.#resumeFailures >= this.#o.maxResumeAttempts)) {
        this.#o.logger.warn(
          { sessionId: this.#session.sessionId, resumeFailures: this.#resumeFailures, code: end?.code },
          wantsResume ? 'Giving up resuming after repeated failures; identifying' : 'Session cannot continue; identifying',
        );
        this.#session = null;
        this.#resumeFailures = 0;
      }
      if (end?.invalidSession) {
        const { min, max } = this.#o.invalidSessionDelayMs;
        delayMs = min + Math.floor(this.#o.random() * (max - min));
      } else {
        delayMs = Math.max(1, backoffDelay(this.#connectFailures, this.#o.backoffBaseMs, this.#o.backoffCapMs, this.#o.random));
      }
    }
  }

  /** One socket from connect to close; null when the connection never opened. */
  async #runConnection(plan: ConnectionPlan, life: AbortSignal): Promise<ConnectionEnd | null> {
    const session = this.#session;
    const base = plan === 'resume' && session ? session.resumeGatewayUrl : this.#o.gatewayUrl;
    this.#setStatus('connecting');
    this.#limiter.reset();
    const connection: ShardConnection = new ShardConnection({
      shardId: this.shardId,
      url: buildGatewayUrl(base, { compress: this.#o.compress }),
      plan,
      compress: this.#o.compress,
      transport: this.#o.transport,
      throttler: this.#o.identifyThrottler,
      limiter: this.#limiter,
      timers: this.#timers,
      clock: this.#o.clock,
      random: this.#o.random,
      logger: this.#o.logger,
      helloTimeoutMs: this.#o.helloTimeoutMs,
      readyTimeoutMs: this.#o.readyTimeoutMs,
      maxPendingFrames: this.#o.maxPendingFrames,
      maxMessageBytes: this.#o.maxMessageBytes,
      initialSeq: plan === 'resume' && session ? session.seq : null,
      buildIdentify: () => this.#identifyPayload(),
      buildResume: () => this.#resumePayload(),
      deliver: (payload): void | Promise<void> => this.#deliver(payload, connection),
      onPhase: (phase) => this.#setStatus(phase),
      onHeartbeat: (latencyMs) => this.emit('heartbeat', { shardId: this.shardId, latencyMs }),
    });
    this.#connection = connection;
    let end: ConnectionEnd | null = null;
    try {
      await connection.open(life);
      const ended = await connection.ended;
      end = ended;
      this.#connectFailures = ended.reachedReady ? 0 : this.#connectFailures + 1;
    } catch (error) {
      if (!life.aborted) {
        this.#connectFailures++;
        this.#o.logger.warn({ err: error, plan }, 'Gateway connection failed');
      }
    }
    await connection.settled(life);
    if (this.#connection === connection) this.#connection = null;
    if (end) {
      this.#o.logger.info({ code: end.code, reason: end.reason, action: end.action, byClient: end.byClient }, 'Gateway socket closed');
      this.emit('closed', { shardId: this.shardId, code: end.code, reason: end.reason, action: end.action, byClient: end.byClient });
    }
    return end;
  }

  #deliver(payload: GatewayDispatchPayload, connection: ShardConnection): void | Promise<void> {
    const isReady = payload.t === GatewayDispatchEvents.Ready;
    const seq = typeof payload.s === 'number' ? payload.s : null;
    if (!isReady && seq !== null && this.#session && seq <= this.#session.seq) {
      // Seq only moves forward: a frame at or below it was already handled.
      this.#o.logger.debug({ seq, handled: this.#session.seq, t: payload.t }, 'Skipping an already handled dispatch');
      return;
    }
    const sessionId = isReady ? payload.d.session_id : (this.#session?.sessionId ?? '');
    let result: void | Promise<void>;
    try {
      result = this.#o.onDispatch(payload, { shardId: this.shardId, seq, sessionId });
    } catch (error) {
      this.#o.logger.error({ err: error, t: payload.t, seq }, 'Dispatch handler threw');
      this.#afterDelivery(payload, seq, connection);
      return;
    }
    if (result !== undefined && typeof result.then === 'function') {
      return result.then(
        () => this.#afterDelivery(payload, seq, connection),
        (error: unknown) => {
          this.#o.logger.error({ err: error, t: payload.t, seq }, 'Dispatch handler rejected');
          this.#afterDelivery(payload, seq, connection);
        },
      );
    }
    this.#afterDelivery(payload, seq, connection);
  }

  #afterDelivery(payload: GatewayDispatchPayload, seq: number | null, connection: ShardConnection): void {
    if (payload.t === GatewayDispatchEvents.Ready) {
      const d = payload.d;
      const resumeGatewayUrl = typeof d.resume_gateway_url === 'string' && d.resume_gateway_url ? d.resume_gateway_url : this.#o.gatewayUrl;
      this.#session = { sessionId: d.session_id, resumeGatewayUrl, seq: seq ?? 0 };
      this.#becameReady(connection);
      this.emit('ready', { shardId: this.shardId, sessionId: d.session_id, resumeGatewayUrl });
      this.emit('shardReady', { shardId: this.shardId, sessionId: d.session_id, resumed: false });
      this.#resolveStart();
      return;
    }
    const session = this.#session;
    if (session && seq !== null && seq > session.seq) session.seq = seq;
    if (payload.t === GatewayDispatchEvents.Resumed && session) {
      this.#becameReady(connection);
      this.emit('resumed', { shardId: this.shardId, sessionId: session.sessionId, seq: session.seq });
      this.emit('shardReady', { shardId: this.shardId, sessionId: session.sessionId, resumed: true });
      this.#resolveStart();
    }
  }

  #becameReady(connection: ShardConnection): void {
    connection.markReady();
    this.#resumeFailures = 0;
    this.#connectFailures = 0;
    if (this.#connection === connection && connection.isOpen) this.#setStatus('ready');
  }

  #identifyPayload(): GatewayIdentify {
    // A new session starts: the old one (if any) is gone for good.
    this.#session = null;
    const o = this.#o;
    return {
      op: GatewayOpcodes.Identify,
      d: {
        token: o.token,
        intents: o.intents,
        properties: o.identifyProperties,
        shard: [this.shardId, this.shardCount],
        compress: false,
        ...(o.largeThreshold === undefined ? {} : { large_threshold: o.largeThreshold }),
        ...(o.presence === undefined ? {} : { presence: o.presence }),
      },
    };
  }

  #resumePayload(): GatewayResume {
    const session = this.#session;
    if (!session) throw new ShardlineError('INTERNAL', `Shard ${this.shardId} has no session to resume`);
    return { op: GatewayOpcodes.Resume, d: { token: this.#o.token, session_id: session.sessionId, seq: session.seq } };
  }

  async #shutdown(code: number, reason: string, final: 'detached' | 'stopped'): Promise<void> {
    if (this.#stopping) return this.#stopping;
    this.#stopping = (async () => {
      const connection = this.#connection;
      if (connection) await connection.shutdown(code, reason, this.#o.handlerDrainTimeoutMs);
      this.#life?.abort(new ShardlineError('CLOSED', `Shard ${this.shardId} is ${final}`));
      await this.#loop;
      this.#timers.clearAll();
      this.#setStatus(final);
      this.#rejectStart(new ShardlineError('CLOSED', `Shard ${this.shardId} was ${final} before it became ready`));
    })();
    try {
      await this.#stopping;
    } finally {
      this.#stopping = null;
    }
  }

  #fail(end: ConnectionEnd): void {
    const policy = closePolicy(end.code);
    const error = new ShardlineError(
      'GATEWAY_FATAL',
      `Shard ${this.shardId} stopped: Discord closed the gateway with ${end.code} (${policy.name}): ${policy.why}`,
      { details: { shardId: this.shardId, closeCode: end.code, closeReason: end.reason } },
    );
    this.#o.logger.error({ code: end.code, reason: end.reason }, error.message);
    this.#life?.abort(error);
    this.#timers.clearAll();
    this.#setStatus('failed');
    this.emit('error', error);
    this.#rejectStart(error);
  }

  #waitUntilReady(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortReason(signal));
    if (this.#status === 'ready') return Promise.resolve();
    if (this.#status === 'stopped' || this.#status === 'detached' || this.#status === 'failed' || this.#status === 'idle') {
      return Promise.reject(new ShardlineError('CLOSED', `Cannot send on shard ${this.shardId}: it is ${this.#status}`));
    }
    return new Promise((resolve, reject) => {
      const done = (): void => {
        off();
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(abortReason(signal));
      };
      const off = this.on('status', ({ status }) => {
        if (status === 'ready') {
          done();
          resolve();
        } else if (status === 'stopped' || status === 'detached' || status === 'failed') {
          done();
          reject(new ShardlineError('CLOSED', `Cannot send on shard ${this.shardId}: it is ${status}`));
        }
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  #setStatus(status: ShardStatus): void {
    const previous = this.#status;
    if (previous === status) return;
    this.#status = status;
    this.#o.logger.debug({ status, previous }, 'Shard status');
    this.emit('status', { shardId: this.shardId, status, previous });
  }

  #resolveStart(): void {
    const waiter = this.#startWaiter;
    this.#startWaiter = null;
    waiter?.resolve();
  }

  #rejectStart(error: unknown): void {
    const waiter = this.#startWaiter;
    this.#startWaiter = null;
    waiter?.reject(error);
  }
}

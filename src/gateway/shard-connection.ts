import { GatewayDispatchEvents, GatewayOpcodes } from 'discord-api-types/v10';
import type { GatewayDispatchPayload, GatewayIdentify, GatewayReceivePayload, GatewayResume } from 'discord-api-types/v10';
import { OWN_CLOSE_CODES, closePolicy } from '../core/close-codes.ts';
import type { CloseAction } from '../core/close-codes.ts';
import type { Clock, GatewaySocket, GatewayTransport, IdentifyThrottler, Logger } from '../core/ports.ts';
import { DispatchQueue } from './dispatch-queue.ts';
import { parseGatewayFrame } from './frame-decoder.ts';
import { Heartbeater } from './heartbeater.ts';
import { linkSignals } from './linked-signal.ts';
import type { SendLimiter } from './send-limiter.ts';
import type { TimerSet } from './timer-set.ts';
import { ZlibInflater } from './zlib-inflater.ts';

export type ConnectionPlan = 'identify' | 'resume';

/** How one socket ended and what the policy table says to do next. */
export interface ConnectionEnd {
  /** Our own close code when we closed, else the server's. */
  code: number;
  reason: string;
  action: CloseAction;
  byClient: boolean;
  /** op 9 with d=false: re-identify after a short jittered wait. */
  invalidSession: boolean;
  /** READY or RESUMED was handled on this socket. */
  reachedReady: boolean;
}

export interface ShardConnectionOptions {
  shardId: number;
  url: string;
  plan: ConnectionPlan;
  compress: boolean;
  transport: GatewayTransport;
  throttler: IdentifyThrottler;
  limiter: SendLimiter;
  timers: TimerSet;
  clock: Clock;
  random: () => number;
  logger: Logger;
  helloTimeoutMs: number;
  readyTimeoutMs: number;
  maxPendingFrames: number;
  maxMessageBytes: number;
  /** Seq the heartbeats start from (the resumed seq, or null for a new session). */
  initialSeq: number | null;
  buildIdentify(): GatewayIdentify;
  buildResume(): GatewayResume;
  /** Delivers one dispatch; must not throw or reject (the shard catches handler errors). */
  deliver(payload: GatewayDispatchPayload): void | Promise<void>;
  onPhase(phase: 'identifying' | 'resuming'): void;
  onHeartbeat(latencyMs: number): void;
}

interface CloseIntent {
  code: number;
  reason: string;
  invalidSession: boolean;
}

/**
 * One gateway socket: decoding (zlib-stream or text), HELLO, heartbeats and zombie
 * detection, IDENTIFY or RESUME, control opcodes, and in-order dispatch delivery with
 * back-pressure. The Shard owns the session and decides what happens after `ended`.
 */
export class ShardConnection {
  readonly ended: Promise<ConnectionEnd>;
  readonly #o: ShardConnectionOptions;
  readonly #log: Logger;
  readonly #controller = new AbortController();
  readonly #queue: DispatchQueue<GatewayDispatchPayload>;
  readonly #heartbeater: Heartbeater;
  readonly #inflater: ZlibInflater | null;
  #resolveEnded!: (end: ConnectionEnd) => void;
  #socket: GatewaySocket | null = null;
  #early: (string | Uint8Array)[] = [];
  #signal: AbortSignal | null = null;
  #disposeSignal: (() => void) | null = null;
  #end: ConnectionEnd | null = null;
  #closing: CloseIntent | null = null;
  #helloSeen = false;
  #awaitingReady = false;
  #reachedReady = false;
  /** A READY was read on this socket (delivered or still queued). */
  #readySeen = false;
  #helloTimer: ReturnType<typeof setTimeout> | undefined;
  #readyTimer: ReturnType<typeof setTimeout> | undefined;
  #lastSeq: number | null;
  #pending = 0;
  #paused = false;
  #decoding = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(options: ShardConnectionOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#lastSeq = options.initialSeq;
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
    this.#inflater = options.compress ? new ZlibInflater({ maxMessageBytes: options.maxMessageBytes }) : null;
    this.#queue = new DispatchQueue<GatewayDispatchPayload>(
      (payload) => this.#deliver(payload),
      (error) => this.#log.error({ err: error }, 'Dispatch delivery failed'),
    );
    this.#heartbeater = new Heartbeater({
      timers: options.timers,
      clock: options.clock,
      random: options.random,
      beat: () => this.#sendPriority({ op: GatewayOpcodes.Heartbeat, d: this.#lastSeq }),
      onZombie: () => this.#closeWith(OWN_CLOSE_CODES.zombie, 'no heartbeat ACK between two heartbeats'),
      onAck: (ms) => options.onHeartbeat(ms),
      readingPaused: () => this.#paused,
    });
  }

  get isOpen(): boolean {
    return this.#socket !== null && this.#end === null && this.#closing === null;
  }

  get readingPaused(): boolean {
    return this.#paused;
  }

  /** Opens the socket. Rejects if the connection fails or `lifeSignal` aborts first. */
  async open(lifeSignal: AbortSignal): Promise<void> {
    const linked = linkSignals([lifeSignal, this.#controller.signal]);
    this.#signal = linked.signal;
    this.#disposeSignal = linked.dispose;
    let socket: GatewaySocket;
    try {
      socket = await this.#o.transport.connect(
        this.#o.url,
        { onMessage: (data) => this.#onMessage(data), onClose: (code, reason) => this.#onClose(code, reason) },
        linked.signal,
      );
    } catch (error) {
      this.#cleanup();
      throw error;
    }
    this.#socket = socket;
    if (this.#end) return;
    if (this.#closing) {
      socket.close(this.#closing.code, this.#closing.reason);
      return;
    }
    this.#helloTimer = this.#o.timers.setTimeout(
      () => this.#closeWith(OWN_CLOSE_CODES.reconnect, `no HELLO within ${this.#o.helloTimeoutMs} ms`),
      this.#o.helloTimeoutMs,
    );
    const early = this.#early;
    this.#early = [];
    for (const frame of early) this.#decode(frame);
    if (this.#paused) socket.pause();
  }

  /** Ordinary send; the caller already holds a limiter slot. False when the socket is gone. */
  trySend(text: string): boolean {
    if (!this.isOpen) return false;
    try {
      this.#socket!.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** The shard handled READY or RESUMED on this socket. */
  markReady(): void {
    this.#reachedReady = true;
  }

  /**
   * Planned close (detach, stop): stop delivering, drop undelivered frames (the next owner
   * gets them by replay), close with `code`, and wait for the close and the in-flight handler.
   */
  async shutdown(code: number, reason: string, handlerTimeoutMs: number): Promise<void> {
    this.#queue.stop();
    if (this.#socket) this.#closeWith(code, reason);
    else {
      this.#controller.abort();
      this.#cleanup();
    }
    const giveUp = new AbortController();
    try {
      await Promise.all([
        this.#socket ? this.ended : undefined,
        Promise.race([
          this.#queue.idle(),
          this.#o.timers.sleep(handlerTimeoutMs, giveUp.signal).then(
            () => this.#log.warn({ handlerTimeoutMs }, 'Dispatch handler still running at shutdown; going on without it'),
            () => {},
          ),
        ]),
      ]);
    } finally {
      giveUp.abort();
    }
  }

  /**
   * Resolves when no handler runs any more (for an identify outcome: after the queue
   * drained), or when `signal` aborts (shutdown bounds the wait itself).
   */
  settled(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      void this.#queue.idle().then(done);
    });
  }

  #onMessage(data: string | Uint8Array): void {
    if (this.#end) return;
    this.#pending++;
    if (!this.#paused && this.#pending > this.#o.maxPendingFrames) {
      this.#paused = true;
      this.#socket?.pause();
      this.#log.debug({ pending: this.#pending }, 'Paused reading: too many frames waiting');
    }
    if (!this.#socket) {
      this.#early.push(data);
      return;
    }
    this.#decode(data);
  }

  #decode(data: string | Uint8Array): void {
    if (typeof data === 'string' || !this.#inflater) {
      const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
      if (this.#decoding === 0) {
        this.#handleText(text);
        return;
      }
      this.#decoding++;
      this.#chain = this.#chain.then(() => {
        this.#decoding--;
        this.#handleText(text);
      });
      return;
    }
    let inflated: string | Promise<string> | null;
    try {
      inflated = this.#inflater.push(data);
    } catch (error) {
      inflated = Promise.reject(error);
    }
    if (inflated === null) {
      this.#frameDone();
      return;
    }
    if (typeof inflated === 'string') {
      if (this.#decoding === 0) {
        this.#handleText(inflated);
        return;
      }
      inflated = Promise.resolve(inflated);
    }
    const pending = inflated;
    this.#decoding++;
    this.#chain = this.#chain
      .then(() => pending)
      .then(
        (text) => {
          this.#decoding--;
          this.#handleText(text);
        },
        (error: unknown) => {
          this.#decoding--;
          this.#frameDone();
          this.#badFrame(error instanceof Error ? error.message : String(error));
        },
      );
  }

  #handleText(text: string): void {
    if (this.#end || this.#closing) {
      this.#frameDone();
      return;
    }
    const parsed = parseGatewayFrame(text);
    if (!parsed.ok) {
      this.#frameDone();
      this.#badFrame(parsed.problem);
      return;
    }
    if (this.#awaitingReady) this.#armReadyTimer();
    const payload = parsed.payload;
    if (payload.op === GatewayOpcodes.Dispatch) {
      const broken = this.#outOfProtocol(payload);
      if (broken) {
        this.#frameDone();
        this.#badFrame(broken);
        return;
      }
      if (typeof payload.s === 'number' && (this.#lastSeq === null || payload.s > this.#lastSeq)) this.#lastSeq = payload.s;
      if (payload.t === GatewayDispatchEvents.Ready || payload.t === GatewayDispatchEvents.Resumed) {
        this.#awaitingReady = false;
        this.#o.timers.clear(this.#readyTimer);
      }
      this.#queue.push(payload);
      return;
    }
    try {
      this.#handleControl(payload);
    } finally {
      this.#frameDone();
    }
  }

  /**
   * A dispatch that decodes but cannot be right: a READY on a socket that did not IDENTIFY (or
   * a second one) would replace the session, and a seq past the next one means dispatches went
   * missing. Either way the socket is closed as a bad frame: the shard resumes from the last
   * seq it handled, and the gateway replays what followed it.
   */
  #outOfProtocol(payload: GatewayDispatchPayload): string | null {
    if (payload.t === GatewayDispatchEvents.Ready) {
      if (this.#o.plan !== 'identify' || this.#readySeen) return this.#readySeen ? 'a second READY on one socket' : 'READY on a socket that resumed';
      this.#readySeen = true;
    }
    const seq = payload.s;
    if (typeof seq === 'number' && this.#lastSeq !== null && seq > this.#lastSeq + 1) return `seq jumped from ${this.#lastSeq} to ${seq}`;
    return null;
  }

  #handleControl(payload: Exclude<GatewayReceivePayload, GatewayDispatchPayload>): void {
    switch (payload.op) {
      case GatewayOpcodes.Hello: {
        const interval = (payload.d as { heartbeat_interval?: unknown } | null)?.heartbeat_interval;
        if (typeof interval !== 'number' || !(interval > 0)) {
          this.#badFrame(`HELLO with heartbeat_interval ${JSON.stringify(interval)}`);
          return;
        }
        if (this.#helloSeen) {
          this.#log.warn('Ignoring a second HELLO on the same socket');
          return;
        }
        this.#helloSeen = true;
        this.#o.timers.clear(this.#helloTimer);
        this.#heartbeater.start(interval);
        void this.#authenticate();
        return;
      }
      case GatewayOpcodes.HeartbeatAck:
        this.#heartbeater.ack();
        return;
      case GatewayOpcodes.Heartbeat:
        this.#heartbeater.beatNow();
        return;
      case GatewayOpcodes.Reconnect:
        this.#closeWith(OWN_CLOSE_CODES.reconnect, 'server asked to reconnect (op 7)');
        return;
      case GatewayOpcodes.InvalidSession:
        if (payload.d === true) this.#closeWith(OWN_CLOSE_CODES.reconnect, 'invalid session, resumable (op 9 true)');
        else this.#closeWith(OWN_CLOSE_CODES.reidentify, 'invalid session, not resumable (op 9 false)', true);
        return;
      default:
        // Decision: an unknown opcode is logged and ignored. Discord adds opcodes over time;
        // reconnecting on each would turn a protocol addition into an outage.
        this.#log.warn({ op: (payload as { op: unknown }).op }, 'Ignoring unknown gateway opcode');
    }
  }

  async #authenticate(): Promise<void> {
    if (this.#o.plan === 'resume') {
      this.#o.onPhase('resuming');
      this.#sendPriority(this.#o.buildResume());
      this.#armReadyTimer();
      return;
    }
    this.#o.onPhase('identifying');
    try {
      await this.#o.throttler.waitForIdentify(this.#o.shardId, this.#signal!);
    } catch (error) {
      if (this.#signal!.aborted || this.#end || this.#closing) return;
      this.#log.warn({ err: error }, 'Identify throttler refused; reconnecting to try again');
      this.#closeWith(OWN_CLOSE_CODES.reidentify, 'identify throttler refused');
      return;
    }
    if (this.#end || this.#closing) return;
    this.#sendPriority(this.#o.buildIdentify());
    this.#armReadyTimer();
  }

  #armReadyTimer(): void {
    this.#awaitingReady = true;
    this.#o.timers.clear(this.#readyTimer);
    const what = this.#o.plan === 'resume' ? 'RESUMED' : 'READY';
    const code = this.#o.plan === 'resume' ? OWN_CLOSE_CODES.reconnect : OWN_CLOSE_CODES.reidentify;
    this.#readyTimer = this.#o.timers.setTimeout(
      () => this.#closeWith(code, `no ${what} within ${this.#o.readyTimeoutMs} ms of silence`),
      this.#o.readyTimeoutMs,
    );
  }

  #deliver(payload: GatewayDispatchPayload): void | Promise<void> {
    const result = this.#o.deliver(payload);
    if (result !== undefined && typeof result.then === 'function') {
      return result.then(
        () => this.#frameDone(),
        (error: unknown) => {
          this.#frameDone();
          throw error;
        },
      );
    }
    this.#frameDone();
  }

  #frameDone(): void {
    this.#pending--;
    if (this.#paused && this.#pending <= this.#o.maxPendingFrames / 2) {
      this.#paused = false;
      if (!this.#end) this.#socket?.resume();
      this.#log.debug({ pending: this.#pending }, 'Resumed reading');
    }
  }

  #badFrame(problem: string): void {
    if (this.#end || this.#closing) return;
    this.#log.warn({ problem }, 'Bad frame from the gateway; reconnecting to resume');
    this.#closeWith(OWN_CLOSE_CODES.badFrame, 'undecodable frame');
  }

  #sendPriority(payload: unknown): void {
    if (!this.isOpen) return;
    this.#o.limiter.recordPriority(this.#o.clock.now());
    try {
      this.#socket!.send(JSON.stringify(payload));
    } catch (error) {
      this.#log.debug({ err: error }, 'Send failed on a closing socket');
    }
  }

  #closeWith(code: number, reason: string, invalidSession = false): void {
    if (this.#end || this.#closing) return;
    this.#closing = { code, reason, invalidSession };
    this.#log.info({ code, reason }, 'Closing gateway socket');
    this.#heartbeater.stop();
    this.#o.timers.clear(this.#helloTimer);
    this.#o.timers.clear(this.#readyTimer);
    if (closePolicy(code).action !== 'identify') this.#dropPending();
    // Close reasons are limited to 123 bytes; ours are short ASCII.
    this.#socket?.close(code, reason.slice(0, 120));
  }

  #onClose(code: number, reason: string): void {
    if (this.#end) return;
    const intent = this.#closing;
    const effective = intent?.code ?? code;
    const action = closePolicy(effective).action;
    if (action !== 'identify') this.#dropPending();
    this.#end = {
      code: effective,
      reason: intent?.reason ?? reason,
      action,
      byClient: intent !== null,
      invalidSession: intent?.invalidSession ?? false,
      reachedReady: this.#reachedReady,
    };
    this.#cleanup();
    this.#resolveEnded(this.#end);
  }

  #dropPending(): void {
    const dropped = this.#queue.stop();
    this.#pending -= dropped;
    if (dropped > 0) this.#log.debug({ dropped }, 'Dropped undelivered dispatches; a resume replays them');
  }

  #cleanup(): void {
    this.#heartbeater.stop();
    this.#o.timers.clear(this.#helloTimer);
    this.#o.timers.clear(this.#readyTimer);
    this.#inflater?.close();
    this.#controller.abort();
    this.#disposeSignal?.();
    this.#disposeSignal = null;
  }
}

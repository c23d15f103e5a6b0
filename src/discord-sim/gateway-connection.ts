import { ApplicationFlags, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import type { GatewayIdentifyData, GatewayReadyDispatchData, GatewayRequestGuildMembersData, GatewayResumeData } from 'discord-api-types/v10';
import type { WebSocket } from 'ws';
import type { Logger } from '../core/ports.ts';
import type { FaultState } from './fault-state.ts';
import { buildGuildCreate, buildMemberChunks } from './guild-payloads.ts';
import type { IdentifyLimiter } from './identify-limiter.ts';
import { PRIVILEGED_INTENTS, VALID_INTENTS_MASK, intentAllows } from './intents.ts';
import type { Ledger } from './ledger.ts';
import type { Session } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';
import { SESSION_ENDING_SERVER_CODES, SIM_CLOSE_CODES } from './sim-close-codes.ts';
import type { SimStats } from './sim-stats.ts';
import type { TimerRegistry } from './timer-registry.ts';
import type { World } from './world.ts';
import { identifyRefusal, type ShardRules } from './shard-routing.ts';
import { ZlibStreamEncoder } from './zlib-stream-encoder.ts';
import { asksForAllMembers, type MemberRequestLimiter } from './member-request-limiter.ts';

/** Everything a connection shares with the rest of the gateway. */
export interface GatewayContext {
  readonly token: string;
  readonly heartbeatIntervalMs: number;
  readonly applicationFlags: number;
  readonly world: World;
  readonly sessions: SessionRegistry;
  readonly identifyLimiter: IdentifyLimiter;
  readonly memberRequests: MemberRequestLimiter;
  readonly ledger: Ledger;
  readonly timers: TimerRegistry;
  readonly stats: SimStats;
  readonly faults: FaultState;
  readonly logger: Logger;
  readonly now: () => number;
  /** Delay before op 9 answers a refused IDENTIFY (Discord answers "after a few seconds"). */
  readonly invalidSessionDelayMs: number;
  /** How long a connection may linger after op 7 before the server closes it. */
  readonly reconnectGraceMs: number;
  /** The guild cap (4011) and the large-bot multiple (4010) IDENTIFY enforces. */
  readonly shardRules: ShardRules;
  resumeGatewayUrl(): string;
}

export interface ConnectionInfo {
  id: string;
  shardId: number;
  sessionId: string | null;
  open: boolean;
  /** The server is closing it (superseded, a close fault, a heartbeat timeout): it delivers nothing more. */
  closing: boolean;
  compress: 'zlib-stream' | null;
  resumed: boolean;
}

const MAX_PAYLOAD_BYTES = 4096;
const RATE_LIMIT_COUNT = 120;
const RATE_LIMIT_WINDOW_MS = 60_000;

/** Privileged intents the application's flags allow (full or "limited" flag both count). */
function allowedPrivileged(flags: number): number {
  let allowed = 0;
  if (flags & (ApplicationFlags.GatewayGuildMembers | ApplicationFlags.GatewayGuildMembersLimited)) allowed |= GatewayIntentBits.GuildMembers;
  if (flags & (ApplicationFlags.GatewayPresence | ApplicationFlags.GatewayPresenceLimited)) allowed |= GatewayIntentBits.GuildPresences;
  if (flags & (ApplicationFlags.GatewayMessageContent | ApplicationFlags.GatewayMessageContentLimited)) allowed |= GatewayIntentBits.MessageContent;
  return allowed;
}

function stripBotPrefix(token: unknown): unknown {
  return typeof token === 'string' && token.startsWith('Bot ') ? token.slice(4) : token;
}

/**
 * One gateway socket: HELLO, heartbeats, IDENTIFY/RESUME validation, and delivery of its
 * session's dispatches. Sessions outlive connections; a connection only borrows one.
 */
export class GatewayConnection {
  readonly id: string;
  readonly compress: 'zlib-stream' | null;
  shardId = -1;
  session: Session | null = null;
  resumed = false;
  open = true;
  readonly #ws: WebSocket;
  readonly #ctx: GatewayContext;
  readonly #encoder: ZlibStreamEncoder | null;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #log: Logger;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #identifying = false;
  #closing = false;
  #corked = false;
  #payloadTimes: number[] = [];

  constructor(id: string, ws: WebSocket, compress: 'zlib-stream' | null, ctx: GatewayContext) {
    this.id = id;
    this.#ws = ws;
    this.compress = compress;
    this.#ctx = ctx;
    this.#encoder = compress === 'zlib-stream' ? new ZlibStreamEncoder() : null;
    this.#log = ctx.logger.child({ connection: id });
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer | Buffer[] | ArrayBuffer, isBinary));
    ws.on('close', (code) => this.#onClose(code));
    ws.on('error', (error) => this.#log.debug({ err: error }, 'gateway socket error'));
  }

  info(): ConnectionInfo {
    return { id: this.id, shardId: this.shardId, sessionId: this.session?.id ?? null, open: this.open, closing: this.#closing, compress: this.compress, resumed: this.resumed };
  }

  /** Greets the client: HELLO, or op 7 first when a "reconnect before HELLO" fault is armed. */
  start(): void {
    if (this.#ctx.faults.takeReconnectBeforeHello()) {
      this.sendOp(GatewayOpcodes.Reconnect, null);
      this.#armReconnectGrace();
      return;
    }
    this.sendOp(GatewayOpcodes.Hello, { heartbeat_interval: this.#ctx.heartbeatIntervalMs });
    this.#heartbeatTimer = this.#setTimer(() => {
      this.#log.debug('heartbeat timed out');
      this.close(SIM_CLOSE_CODES.heartbeatTimeout, 'Heartbeat timed out');
    }, this.#ctx.heartbeatIntervalMs * 1.5);
  }

  sendOp(op: number, d: unknown): void {
    this.#write(JSON.stringify({ op, d, s: null, t: null }));
  }

  /** Op 7 now, and a server-side close if the client lingers. */
  requestReconnect(): void {
    this.sendOp(GatewayOpcodes.Reconnect, null);
    this.#armReconnectGrace();
  }

  /** Op 9; the connection's session is dropped (false) or left resumable (true). */
  invalidateSession(resumable: boolean): void {
    this.#ctx.stats.invalidSessions += 1;
    this.sendOp(GatewayOpcodes.InvalidSession, resumable);
    const session = this.session;
    if (session) {
      if (resumable) this.#detach(session);
      else this.#ctx.sessions.delete(session.id);
    }
    this.session = null;
    this.#identifying = false;
  }

  sendDispatch(frame: string, seq: number, sessionId: string): void {
    this.#write(frame, seq, sessionId);
  }

  /** Unsequenced text through this socket's own encoding (zlib-stream when negotiated). */
  sendFrame(text: string): void {
    this.#write(text);
  }

  /**
   * Writes dispatch frames encoded beforehand, WebSocket framing included (a replayed chunk,
   * see traffic-replay.ts), and records them as sent. Returns false, having done nothing, when
   * this socket cannot take them as they are: then the caller dispatches them one by one.
   */
  writePrepared(bytes: Uint8Array, sessionId: string, fromSeq: number, count: number): boolean {
    const socket = (this.#ws as unknown as { _socket?: { write(chunk: Uint8Array): boolean } | null })._socket;
    if (!this.open || this.#ws.readyState !== 1 || !socket || (this.#encoder !== null && !this.#encoder.synchronous)) return false;
    this.#coalesce();
    socket.write(bytes);
    // The client's inflater now holds bytes this connection's compressor never saw.
    this.#encoder?.resetHistory();
    this.#ctx.ledger.recordTransmissions(this.shardId, this.id, sessionId, fromSeq, count);
    return true;
  }

  sendRaw(frame: string | Uint8Array): void {
    if (!this.open || this.#ws.readyState !== 1) return;
    this.#coalesce();
    if (typeof frame === 'string') this.#ws.send(frame);
    else this.#ws.send(frame, { binary: true });
  }

  /** Server-initiated close; frames already queued for compression go out first. */
  close(code: number, reason = ''): void {
    if (this.#closing || !this.open) return;
    this.#closing = true;
    this.#releaseSession(SESSION_ENDING_SERVER_CODES.has(code));
    const doClose = (): void => {
      if (this.#ws.readyState === 0 || this.#ws.readyState === 1) this.#ws.close(code, reason);
      // A peer that never answers the close handshake must not keep the socket alive.
      this.#setTimer(() => this.#ws.terminate(), 2_000);
    };
    if (this.#encoder) this.#encoder.whenIdle(doClose);
    else doClose();
  }

  /** Drops the TCP connection with no close frame; the session stays resumable. */
  terminate(): void {
    this.#closing = true;
    this.#releaseSession(false);
    this.#ws.terminate();
  }

  /**
   * Frames sent in one synchronous run (a traffic burst, a READY and its GUILD_CREATEs) leave in
   * one socket write instead of one writev each: per-frame syscalls made the simulator, not the
   * client under test, the bottleneck of throughput benchmarks. ws corks around each frame
   * itself; corking nests, so the frames stay buffered until this microtask uncorks.
   */
  #coalesce(): void {
    if (this.#corked) return;
    const socket = (this.#ws as unknown as { _socket?: { cork(): void; uncork(): void } | null })._socket;
    if (!socket || typeof socket.cork !== 'function') return;
    this.#corked = true;
    socket.cork();
    queueMicrotask(() => {
      this.#corked = false;
      socket.uncork();
    });
  }

  #write(text: string, seq?: number, sessionId?: string): void {
    if (!this.open || this.#ws.readyState !== 1) return;
    this.#coalesce();
    const record = (): void => {
      if (seq !== undefined && sessionId !== undefined) this.#ctx.ledger.recordTransmission(this.shardId, this.id, sessionId, seq);
    };
    if (this.#encoder) {
      this.#encoder.encode(text, (frame) => {
        if (this.#ws.readyState !== 1) return;
        this.#ws.send(frame, { binary: true });
        record();
      });
      return;
    }
    this.#ws.send(text);
    record();
  }

  #onMessage(raw: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    if (this.#closing) return;
    const buffer = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
    if (isBinary) return this.close(4002, 'Binary frames are not accepted');
    if (buffer.byteLength > MAX_PAYLOAD_BYTES) return this.close(4002, `Payload of ${buffer.byteLength} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
    let payload: unknown;
    try {
      payload = JSON.parse(buffer.toString('utf8'));
    } catch {
      return this.close(4002, 'Payload is not valid JSON');
    }
    if (typeof payload !== 'object' || payload === null || typeof (payload as { op?: unknown }).op !== 'number') {
      return this.close(4002, 'Payload has no numeric op');
    }
    const { op, d } = payload as { op: number; d: unknown };
    // Heartbeats are left out of the 120/60 s budget: tests heartbeat ~100x faster than Discord.
    if (op !== GatewayOpcodes.Heartbeat && !this.#withinRateLimit()) return this.close(4008, 'Rate limited');
    switch (op) {
      case GatewayOpcodes.Heartbeat:
        return this.#onHeartbeat();
      case GatewayOpcodes.Identify:
        return this.#onIdentify(d);
      case GatewayOpcodes.Resume:
        return this.#onResume(d);
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
      case GatewayOpcodes.RequestGuildMembers:
      case GatewayOpcodes.RequestSoundboardSounds:
      case 43:
        if (!this.session) return this.close(4003, 'Not authenticated');
        if (op === GatewayOpcodes.RequestGuildMembers) this.#onRequestMembers(d);
        return;
      default:
        return this.close(4001, `Unknown opcode ${op}`);
    }
  }

  #withinRateLimit(): boolean {
    const now = this.#ctx.now();
    this.#payloadTimes.push(now);
    if (this.#payloadTimes.length > RATE_LIMIT_COUNT) {
      const oldest = this.#payloadTimes.shift()!;
      if (now - oldest < RATE_LIMIT_WINDOW_MS) return false;
    }
    return true;
  }

  #onHeartbeat(): void {
    this.#heartbeatTimer?.refresh();
    this.#ctx.stats.heartbeats += 1;
    if (this.#ctx.faults.withheldAcks.has(this.shardId)) return;
    this.#ctx.stats.heartbeatAcks += 1;
    this.sendOp(GatewayOpcodes.HeartbeatAck, null);
  }

  #onIdentify(raw: unknown): void {
    if (this.session || this.#identifying) return this.close(4005, 'Already authenticated');
    if (typeof raw !== 'object' || raw === null) return this.close(4002, 'IDENTIFY payload must be an object');
    const d = raw as Partial<GatewayIdentifyData>;
    if (stripBotPrefix(d.token) !== this.#ctx.token) return this.close(4004, 'Authentication failed');
    const shard = d.shard ?? [0, 1];
    const [shardId, shardCount] = Array.isArray(shard) ? shard : [];
    if (!Number.isInteger(shardId) || !Number.isInteger(shardCount) || shardCount! < 1 || shardId! < 0 || shardId! >= shardCount!) {
      return this.close(4010, 'Invalid shard');
    }
    const guildIds = this.#ctx.world.guildIdsForShard(shardId!, shardCount!);
    const intents = d.intents;
    if (typeof intents !== 'number' || !Number.isInteger(intents) || intents < 0 || intents > 0x7fffffff || (intents & ~VALID_INTENTS_MASK) !== 0) {
      return this.close(4013, 'Invalid intent(s)');
    }
    if ((intents & PRIVILEGED_INTENTS & ~allowedPrivileged(this.#ctx.applicationFlags)) !== 0) {
      return this.close(4014, 'Disallowed intent(s)');
    }
    const refusal = identifyRefusal(shardId!, shardCount!, guildIds.length, this.#ctx.shardRules);
    if (refusal) return this.close(refusal.code, refusal.reason);
    if (!this.#ctx.identifyLimiter.tryAcquireBucket(shardId!) || !this.#ctx.identifyLimiter.tryConsumeStart()) {
      this.#log.debug({ shardId }, 'identify refused (bucket spacing or session start limit)');
      this.#setTimer(() => {
        this.#ctx.stats.invalidSessions += 1;
        this.sendOp(GatewayOpcodes.InvalidSession, false);
      }, this.#ctx.invalidSessionDelayMs);
      return;
    }
    this.#identifying = true;
    this.shardId = shardId!;
    const { stats } = this.#ctx;
    stats.identifies += 1;
    stats.identifiesByShard[shardId!] = (stats.identifiesByShard[shardId!] ?? 0) + 1;
    const largeThreshold = typeof d.large_threshold === 'number' ? Math.min(250, Math.max(50, d.large_threshold)) : 50;
    const ready = (): void => this.#sendReady(shardId!, shardCount!, intents, guildIds, largeThreshold, d.shard !== undefined);
    if (this.#ctx.faults.readyDelayMs > 0) this.#setTimer(ready, this.#ctx.faults.readyDelayMs);
    else ready();
  }

  #sendReady(shardId: number, shardCount: number, intents: number, guildIds: string[], largeThreshold: number, echoShard: boolean): void {
    if (!this.open || this.#closing || !this.#identifying) return;
    const { world, sessions } = this.#ctx;
    const session = sessions.create(shardId, shardCount, intents);
    this.#attach(session);
    const ready: GatewayReadyDispatchData = {
      v: 10,
      user: world.botUser,
      guilds: guildIds.map((id) => ({ id, unavailable: true })),
      session_id: session.id,
      resume_gateway_url: this.#ctx.resumeGatewayUrl(),
      application: { id: world.application.id, flags: world.application.flags, flags_new: String(world.application.flags) },
      ...(echoShard ? { shard: [shardId, shardCount] as [number, number] } : {}),
    };
    session.dispatch('READY', JSON.stringify(ready));
    if (!intentAllows(intents, 'GUILD_CREATE', 'x', world.botUser.id, null)) return;
    for (const guildId of guildIds) {
      const payload = buildGuildCreate(world, guildId, intents, largeThreshold);
      if (payload) session.dispatch('GUILD_CREATE', JSON.stringify(payload));
    }
  }

  #onResume(raw: unknown): void {
    if (this.session || this.#identifying) return this.close(4005, 'Already authenticated');
    if (typeof raw !== 'object' || raw === null) return this.close(4002, 'RESUME payload must be an object');
    const d = raw as Partial<GatewayResumeData>;
    if (stripBotPrefix(d.token) !== this.#ctx.token) return this.close(4004, 'Authentication failed');
    const session = typeof d.session_id === 'string' ? this.#ctx.sessions.get(d.session_id) : undefined;
    if (!session) {
      this.#ctx.stats.invalidSessions += 1;
      this.sendOp(GatewayOpcodes.InvalidSession, false);
      return;
    }
    const seq = d.seq ?? 0;
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0) return this.close(4002, 'RESUME seq must be a non-negative integer');
    if (seq > session.seq) return this.close(4007, `Invalid seq ${seq}: session is at ${session.seq}`);
    const frames = session.framesAfter(seq);
    if (frames === null) {
      this.#ctx.stats.invalidSessions += 1;
      this.sendOp(GatewayOpcodes.InvalidSession, false);
      return;
    }
    const older = session.sink;
    if (older instanceof GatewayConnection && older !== this) {
      older.#releaseSession(false);
      older.close(SIM_CLOSE_CODES.superseded, 'Session resumed on another connection');
    }
    this.shardId = session.shardId;
    this.resumed = true;
    const { stats } = this.#ctx;
    stats.resumes += 1;
    stats.resumesByShard[session.shardId] = (stats.resumesByShard[session.shardId] ?? 0) + 1;
    for (const { seq: s, frame } of frames) this.#write(frame, s, session.id);
    this.#attach(session);
    this.#write('{"op":0,"t":"RESUMED","s":null,"d":{}}');
  }

  #onRequestMembers(raw: unknown): void {
    const session = this.session!;
    if (typeof raw !== 'object' || raw === null || typeof (raw as { guild_id?: unknown }).guild_id !== 'string') {
      return this.close(4002, 'REQUEST_GUILD_MEMBERS needs a guild_id');
    }
    const request = raw as GatewayRequestGuildMembersData;
    const wg = this.#ctx.world.guilds.get(request.guild_id);
    // Requests for guilds outside this shard get nothing, like Discord.
    if (!wg || wg.shardKey % session.shardCount !== session.shardId) return;
    if (asksForAllMembers(request)) {
      const retryAfter = this.#ctx.memberRequests.take(wg.id, this.#ctx.now());
      if (retryAfter !== null) {
        const meta = typeof request.nonce === 'string' ? { guild_id: wg.id, nonce: request.nonce } : { guild_id: wg.id };
        session.dispatch('RATE_LIMITED', JSON.stringify({ opcode: GatewayOpcodes.RequestGuildMembers, retry_after: retryAfter, meta }));
        return;
      }
    }
    for (const chunk of buildMemberChunks(this.#ctx.world, request, session.intents)) {
      session.dispatch('GUILD_MEMBERS_CHUNK', JSON.stringify(chunk));
    }
  }

  #attach(session: Session): void {
    this.session = session;
    session.sink = this;
    session.disconnectedAt = null;
  }

  #detach(session: Session): void {
    if (session.sink === this) {
      session.sink = null;
      session.disconnectedAt = this.#ctx.now();
    }
  }

  /** Stops delivering to this socket; `end` deletes the session (it can no longer be resumed). */
  #releaseSession(end: boolean): void {
    const session = this.session;
    if (!session) return;
    if (end) this.#ctx.sessions.delete(session.id);
    else this.#detach(session);
  }

  #armReconnectGrace(): void {
    this.#setTimer(() => this.close(SIM_CLOSE_CODES.reconnectGrace, 'Reconnect requested'), this.#ctx.reconnectGraceMs);
  }

  #setTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const timer = this.#ctx.timers.setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #onClose(code: number): void {
    if (!this.open) return;
    this.open = false;
    for (const timer of this.#timers) this.#ctx.timers.clear(timer);
    this.#timers.clear();
    this.#encoder?.close();
    const session = this.session;
    if (session && session.sink === this) {
      // Only a client-sent 1000/1001 ends the session; anything else leaves it resumable.
      if (!this.#closing && (code === 1000 || code === 1001)) this.#ctx.sessions.delete(session.id);
      else this.#detach(session);
    }
  }
}

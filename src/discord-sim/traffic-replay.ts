import { ShardlineError } from '../core/errors.ts';
import type { Dispatcher } from './dispatcher.ts';
import { GatewayConnection } from './gateway-connection.ts';
import type { Session } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { Traffic } from './traffic.ts';
import { binaryFrames, textFrames } from './ws-frames.ts';
import { ZlibStreamEncoder } from './zlib-stream-encoder.ts';

/** One session's share of a chunk: its frames, numbered from `fromSeq`, and their bytes for the socket it had. */
interface PreparedRun {
  readonly session: Session;
  readonly fromSeq: number;
  readonly frames: string[];
  /** Per frame: the routed event it carries (the ledger's logical event number). */
  readonly eventNos: number[];
  /** The connection the bytes were encoded for (its compression), or null: then frames go one by one. */
  connection: GatewayConnection | null;
  bytes: Buffer | null;
}

interface PreparedChunk {
  /** Traffic events generated for the chunk (a guild event reaches one session per matching shard). */
  readonly events: number;
  readonly runs: PreparedRun[];
}

export interface TrafficReplayDeps {
  readonly traffic: Traffic;
  readonly dispatcher: Dispatcher;
  readonly sessions: SessionRegistry;
}

/**
 * Replay mode of the traffic generator, for throughput benchmarks: `prepare()` generates a
 * burst ahead of time (the world changes then, exactly as live traffic would change it) and
 * encodes each session's frames once, JSON or zlib-stream as its socket asked, WebSocket
 * framing included; `play()` then writes whole chunks with one socket write per session, so
 * the simulator costs a small fraction of what generating and encoding each event live costs.
 *
 * Sequence numbers are assigned when a chunk is prepared, counting on from what each session
 * will have reached; a chunk is sequenced (replay buffer, ledger) when it is played, as if it
 * were dispatched then. When that no longer holds (another dispatch reached the session
 * meanwhile, or it now sits on another socket, or none), the chunk's frames go through the
 * session one by one instead, so resumes replay exactly what a live stream would have sent.
 *
 * zlib-stream: each chunk is compressed by its own raw deflate stream that refers to nothing
 * before it, so its bytes are valid wherever the connection's stream stands; the connection's
 * own compressor then starts its next frame with a full flush (see ZlibStreamEncoder).
 */
export class TrafficReplay {
  readonly #deps: TrafficReplayDeps;
  #chunks: PreparedChunk[] = [];
  #head = 0;
  /** The seq each session reaches once everything prepared is played. */
  readonly #nextSeq = new Map<Session, number>();

  constructor(deps: TrafficReplayDeps) {
    this.#deps = deps;
  }

  /** Traffic events prepared and not played yet. */
  get pending(): number {
    let n = 0;
    for (let i = this.#head; i < this.#chunks.length; i += 1) n += this.#chunks[i]!.events;
    return n;
  }

  /**
   * Generates `events` traffic events now, in chunks of `chunkEvents`, and encodes them for the
   * sessions routed to; returns how many were generated (fewer when the world ran dry).
   */
  prepare(events: number, chunkEvents = 1000): number {
    if (!Number.isInteger(events) || events < 0) throw new ShardlineError('INVALID_INPUT', `Cannot prepare a replay: events must be a non-negative integer, got ${String(events)}`);
    if (!Number.isInteger(chunkEvents) || chunkEvents < 1) throw new ShardlineError('INVALID_INPUT', `Cannot prepare a replay: chunkEvents must be a positive integer, got ${String(chunkEvents)}`);
    let generated = 0;
    while (generated < events) {
      const runs = new Map<Session, PreparedRun>();
      const n = this.#deps.dispatcher.capture(
        (session, event, dataJson, eventNo) => {
          let run = runs.get(session);
          if (!run) {
            const fromSeq = this.#nextSeq.get(session) ?? session.seq + 1;
            run = { session, fromSeq, frames: [], eventNos: [], connection: null, bytes: null };
            runs.set(session, run);
          }
          const seq = run.fromSeq + run.frames.length;
          run.frames.push(`{"op":0,"t":"${event}","s":${seq},"d":${dataJson}}`);
          run.eventNos.push(eventNo);
          this.#nextSeq.set(session, seq + 1);
        },
        () => this.#deps.traffic.emit(Math.min(chunkEvents, events - generated)),
      );
      if (n === 0) break;
      generated += n;
      for (const run of runs.values()) encode(run);
      this.#chunks.push({ events: n, runs: [...runs.values()] });
    }
    return generated;
  }

  /** Plays prepared chunks, whole, until `maxEvents` events went out (at least one chunk); returns how many did. */
  play(maxEvents: number): number {
    let played = 0;
    while (this.#head < this.#chunks.length) {
      const chunk = this.#chunks[this.#head]!;
      if (played > 0 && played + chunk.events > maxEvents) break;
      this.#chunks[this.#head] = { events: 0, runs: [] };
      this.#head += 1;
      for (const run of chunk.runs) this.#playRun(run);
      played += chunk.events;
    }
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
      this.#nextSeq.clear();
    }
    return played;
  }

  /** Drops what was prepared and not played (the world keeps the changes). */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#nextSeq.clear();
  }

  #playRun(run: PreparedRun): void {
    const { session, frames, eventNos } = run;
    // A session that ended meanwhile gets nothing, as live routing would give it nothing.
    if (this.#deps.sessions.get(session.id) !== session) return;
    if (session.seq !== run.fromSeq - 1) {
      // Something else was dispatched to the session since: these seqs are taken, so renumber.
      for (let i = 0; i < frames.length; i += 1) session.dispatch(eventOf(frames[i]!), dataOf(frames[i]!), eventNos[i]);
      return;
    }
    const sink = session.sink;
    const connection = run.connection;
    const written = run.bytes !== null && connection !== null && sink === connection && connection.writePrepared(run.bytes, session.id, run.fromSeq, frames.length);
    session.sequencePrepared(frames, eventNos);
    if (written || !sink) return;
    for (let i = 0; i < frames.length; i += 1) sink.sendDispatch(frames[i]!, run.fromSeq + i, session.id);
  }
}

/** Encodes a run for the socket its session is attached to now, if that socket takes prepared bytes. */
function encode(run: PreparedRun): void {
  const sink = run.session.sink;
  if (!(sink instanceof GatewayConnection) || !sink.open) return;
  if (sink.compress === 'zlib-stream') {
    const encoder = new ZlibStreamEncoder({ raw: true });
    try {
      if (!encoder.synchronous) return;
      const payloads: Buffer[] = [];
      for (const frame of run.frames) encoder.encode(frame, (bytes) => payloads.push(bytes));
      run.bytes = binaryFrames(payloads);
    } finally {
      encoder.close();
    }
  } else {
    run.bytes = textFrames(run.frames);
  }
  run.connection = sink;
}

/** `{"op":0,"t":"<event>","s":<seq>,"d":<data>}`: the event name. */
function eventOf(frame: string): string {
  return frame.slice(13, frame.indexOf('"', 13));
}

/** The serialized `d` of a frame built by prepare(). */
function dataOf(frame: string): string {
  return frame.slice(frame.indexOf(',"d":') + 5, -1);
}

import type { Ledger } from './ledger.ts';

/** What a session needs from the socket it is attached to. */
export interface SessionSink {
  readonly id: string;
  /** Writes one already-serialized dispatch frame (seq is for the ledger). */
  sendDispatch(frame: string, seq: number, sessionId: string): void;
}

export interface SessionInit {
  id: string;
  shardId: number;
  shardCount: number;
  intents: number;
  replayBufferSize: number;
  ledger: Ledger;
}

/**
 * One gateway session: its sequence counter and the replay buffer of serialized frames.
 * Dispatches are sequenced whether or not a socket is attached, so a RESUME can replay
 * everything that happened while the client was away.
 */
export class Session {
  readonly id: string;
  readonly shardId: number;
  readonly shardCount: number;
  readonly intents: number;
  seq = 0;
  sink: SessionSink | null = null;
  /** When the last socket went away; null while attached. */
  disconnectedAt: number | null = null;
  readonly #frames: (string | undefined)[];
  readonly #capacity: number;
  readonly #ledger: Ledger;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.shardId = init.shardId;
    this.shardCount = init.shardCount;
    this.intents = init.intents;
    this.#capacity = Math.max(1, init.replayBufferSize);
    this.#frames = new Array<string | undefined>(this.#capacity);
    this.#ledger = init.ledger;
  }

  /**
   * Sequences one dispatch. `dataJson` is the already-serialized `d`, shared across sessions
   * when their view of the event is identical; `eventNo` names the routed event it carries.
   */
  dispatch(event: string, dataJson: string, eventNo = 0): number {
    this.seq += 1;
    const seq = this.seq;
    const frame = `{"op":0,"t":"${event}","s":${seq},"d":${dataJson}}`;
    this.#store(seq, frame);
    this.#ledger.recordEvent(this.shardId, this.id, seq, eventNo);
    this.sink?.sendDispatch(frame, seq, this.id);
    return seq;
  }

  /** Frames after `seq` in order, or null when some of them already left the replay buffer. */
  framesAfter(seq: number): Array<{ seq: number; frame: string }> | null {
    const oldest = Math.max(1, this.seq - this.#capacity + 1);
    if (seq + 1 < oldest) return null;
    const out: Array<{ seq: number; frame: string }> = [];
    for (let s = seq + 1; s <= this.seq; s += 1) {
      const frame = this.#frames[s % this.#capacity];
      if (frame === undefined) return null;
      out.push({ seq: s, frame });
    }
    return out;
  }

  #store(seq: number, frame: string): void {
    this.#frames[seq % this.#capacity] = frame;
  }
}

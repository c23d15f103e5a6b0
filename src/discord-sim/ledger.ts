/** One dispatch sequenced into a session (the proof that Discord "sent" it). */
export interface LedgerEvent {
  sessionId: string;
  seq: number;
  t: number;
}

/** One dispatch frame written to a socket (first send or replay). */
export interface LedgerTransmission {
  connectionId: string;
  sessionId: string;
  seq: number;
  t: number;
}

export interface HandledDispatch {
  sessionId: string;
  seq: number;
}

export interface LedgerCheck {
  expected: number;
  delivered: number;
  lost: LedgerEvent[];
  duplicated: LedgerEvent[];
  outOfOrder: number;
}

/** Seqs of one session are contiguous from 1, so only the send times need storing. */
interface SessionTrack {
  sessionId: string;
  times: Float64Array;
  count: number;
}

interface TransmissionTrack {
  connectionId: string;
  sessionIds: string[];
  sessionIndex: Uint32Array;
  seqs: Uint32Array;
  times: Float64Array;
  count: number;
}

function grow<T extends Float64Array | Uint32Array>(array: T, needed: number, make: (n: number) => T): T {
  if (needed <= array.length) return array;
  const next = make(Math.max(needed, array.length * 2));
  next.set(array);
  return next;
}

/**
 * What the sim generated and transmitted, per shard, kept compactly (typed arrays) because
 * benchmarks push millions of dispatches through it.
 */
export class Ledger {
  readonly #sessionsByShard = new Map<number, SessionTrack[]>();
  readonly #sessions = new Map<string, SessionTrack>();
  readonly #transmissionsByShard = new Map<number, TransmissionTrack[]>();
  readonly #connections = new Map<string, TransmissionTrack>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records that `sessionId` (of `shardId`) sequenced dispatch `seq`; seqs must arrive as 1, 2, 3... */
  recordEvent(shardId: number, sessionId: string, seq: number): void {
    let track = this.#sessions.get(sessionId);
    if (!track) {
      track = { sessionId, times: new Float64Array(64), count: 0 };
      this.#sessions.set(sessionId, track);
      const list = this.#sessionsByShard.get(shardId) ?? [];
      list.push(track);
      this.#sessionsByShard.set(shardId, list);
    }
    if (seq !== track.count + 1) return;
    track.times = grow(track.times, seq, (n) => new Float64Array(n));
    track.times[track.count] = this.#now();
    track.count = seq;
  }

  /** `count` dispatches sequenced at once from `fromSeq` on (a replayed chunk): one clock read for all. */
  recordEvents(shardId: number, sessionId: string, fromSeq: number, count: number): void {
    if (count <= 0) return;
    this.recordEvent(shardId, sessionId, fromSeq);
    const track = this.#sessions.get(sessionId)!;
    if (track.count !== fromSeq) return;
    const last = fromSeq + count - 1;
    track.times = grow(track.times, last, (n) => new Float64Array(n));
    track.times.fill(track.times[fromSeq - 1]!, fromSeq, last);
    track.count = last;
  }

  /** `count` frames of one session written to a connection at once, seqs `fromSeq` on. */
  recordTransmissions(shardId: number, connectionId: string, sessionId: string, fromSeq: number, count: number): void {
    if (count <= 0) return;
    this.recordTransmission(shardId, connectionId, sessionId, fromSeq);
    const track = this.#connections.get(connectionId)!;
    const start = track.count;
    const n = start + count - 1;
    track.sessionIndex = grow(track.sessionIndex, n, (size) => new Uint32Array(size));
    track.seqs = grow(track.seqs, n, (size) => new Uint32Array(size));
    track.times = grow(track.times, n, (size) => new Float64Array(size));
    const index = track.sessionIndex[start - 1]!;
    const t = track.times[start - 1]!;
    for (let i = 1; i < count; i += 1) {
      track.sessionIndex[start + i - 1] = index;
      track.seqs[start + i - 1] = fromSeq + i;
      track.times[start + i - 1] = t;
    }
    track.count = n;
  }

  recordTransmission(shardId: number, connectionId: string, sessionId: string, seq: number): void {
    let track = this.#connections.get(connectionId);
    if (!track) {
      track = { connectionId, sessionIds: [], sessionIndex: new Uint32Array(64), seqs: new Uint32Array(64), times: new Float64Array(64), count: 0 };
      this.#connections.set(connectionId, track);
      const list = this.#transmissionsByShard.get(shardId) ?? [];
      list.push(track);
      this.#transmissionsByShard.set(shardId, list);
    }
    let index = track.sessionIds.lastIndexOf(sessionId);
    if (index === -1) index = track.sessionIds.push(sessionId) - 1;
    const n = track.count + 1;
    track.sessionIndex = grow(track.sessionIndex, n, (size) => new Uint32Array(size));
    track.seqs = grow(track.seqs, n, (size) => new Uint32Array(size));
    track.times = grow(track.times, n, (size) => new Float64Array(size));
    track.sessionIndex[track.count] = index;
    track.seqs[track.count] = seq;
    track.times[track.count] = this.#now();
    track.count = n;
  }

  /** Every dispatch sequenced for the shard's sessions, session by session in creation order. */
  events(shardId: number): LedgerEvent[] {
    const out: LedgerEvent[] = [];
    for (const track of this.#sessionsByShard.get(shardId) ?? []) {
      for (let i = 0; i < track.count; i += 1) out.push({ sessionId: track.sessionId, seq: i + 1, t: track.times[i]! });
    }
    return out;
  }

  /** How many dispatches were sequenced for the shard (cheap; no arrays built). */
  eventCount(shardId: number): number {
    let total = 0;
    for (const track of this.#sessionsByShard.get(shardId) ?? []) total += track.count;
    return total;
  }

  transmissions(shardId: number): LedgerTransmission[] {
    const out: LedgerTransmission[] = [];
    for (const track of this.#transmissionsByShard.get(shardId) ?? []) {
      for (let i = 0; i < track.count; i += 1) {
        out.push({ connectionId: track.connectionId, sessionId: track.sessionIds[track.sessionIndex[i]!]!, seq: track.seqs[i]!, t: track.times[i]! });
      }
    }
    return out;
  }

  /**
   * Compares what a client handled with what the shard's sessions generated. Expected events
   * are those of every session of the shard from the earliest session named in `handled` on
   * (later sessions count too: a re-identify that skipped events shows as loss). With an empty
   * `handled`, every event of the shard is expected.
   */
  check(shardId: number, handled: readonly HandledDispatch[]): LedgerCheck {
    const tracks = this.#sessionsByShard.get(shardId) ?? [];
    const named = new Set(handled.map((h) => h.sessionId));
    let first = tracks.findIndex((track) => named.has(track.sessionId));
    if (first === -1) first = handled.length === 0 ? 0 : tracks.length;
    const expectedTracks = tracks.slice(first);
    const counts = new Map<string, Uint32Array>();
    for (const track of expectedTracks) counts.set(track.sessionId, new Uint32Array(track.count + 1));
    const maxSeen = new Map<string, number>();
    let outOfOrder = 0;
    for (const { sessionId, seq } of handled) {
      const perSeq = counts.get(sessionId);
      if (!perSeq || !Number.isInteger(seq) || seq < 1 || seq >= perSeq.length) continue;
      const max = maxSeen.get(sessionId) ?? 0;
      if (perSeq[seq] === 0 && seq < max) outOfOrder += 1;
      if (seq > max) maxSeen.set(sessionId, seq);
      perSeq[seq] = perSeq[seq]! + 1;
    }
    let expected = 0;
    let delivered = 0;
    const lost: LedgerEvent[] = [];
    const duplicated: LedgerEvent[] = [];
    for (const track of expectedTracks) {
      const perSeq = counts.get(track.sessionId)!;
      expected += track.count;
      for (let seq = 1; seq <= track.count; seq += 1) {
        const times = perSeq[seq]!;
        const event = { sessionId: track.sessionId, seq, t: track.times[seq - 1]! };
        if (times === 0) lost.push(event);
        else delivered += 1;
        if (times > 1) duplicated.push(event);
      }
    }
    return { expected, delivered, lost, duplicated, outOfOrder };
  }
}

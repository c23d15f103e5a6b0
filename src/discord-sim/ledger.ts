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

/**
 * A check across every session at once: each *logical* event (one dispatch Discord routed,
 * however many sessions it reached: two shard sets during a reshard) against how often the
 * client handled it, through any of those sessions.
 */
export interface LogicalCheck {
  /** Routed events since `since` that reached at least one session. */
  expected: number;
  /** Of those, handled at least once. */
  handled: number;
  lost: LogicalEvent[];
  /** Handled more than once, for event types the caller counts as carrying a stable id. */
  duplicatedIdCarrying: LogicalEvent[];
  /** Handled more than once, other types (at-least-once is their guarantee). */
  duplicatedOther: number;
}

export interface LogicalEvent {
  eventNo: number;
  t: string;
  at: number;
  /** How often the client handled it. */
  handled: number;
}

/** Seqs of one session are contiguous from 1, so only the send times (and each seq's logical event) need storing. */
interface SessionTrack {
  sessionId: string;
  times: Float64Array;
  /** Per seq: the logical event number (0 for a session's own dispatch: READY, its GUILD_CREATEs, chunks). */
  events: Uint32Array;
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

function grow<T extends Float64Array | Uint32Array | Uint16Array>(array: T, needed: number, make: (n: number) => T): T {
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
  /** Logical events, numbered from 1: their type (index into #types) and time. */
  #eventTypes = new Uint16Array(1024);
  #eventTimes = new Float64Array(1024);
  #eventCount = 0;
  readonly #types: string[] = [];
  readonly #typeIndex = new Map<string, number>();
  #undelivered = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Numbers one routed dispatch; every session it reaches records it with recordEvent(). */
  newEvent(t: string): number {
    let type = this.#typeIndex.get(t);
    if (type === undefined) {
      type = this.#types.push(t) - 1;
      this.#typeIndex.set(t, type);
    }
    const n = this.#eventCount + 1;
    this.#eventTypes = grow(this.#eventTypes, n + 1, (size) => new Uint16Array(size));
    this.#eventTimes = grow(this.#eventTimes, n + 1, (size) => new Float64Array(size));
    this.#eventTypes[n] = type;
    this.#eventTimes[n] = this.#now();
    this.#eventCount = n;
    return n;
  }

  /** A guild event Discord had no session for (no shard of any count covered its guild): lost for every client. */
  noteUndelivered(): void {
    this.#undelivered += 1;
  }

  /** Guild events that reached no session so far (a bot with every shard down loses them). */
  get undeliveredCount(): number {
    return this.#undelivered;
  }

  /** A routed dispatch's type and when it was sent; undefined for an unknown number. */
  logicalEvent(eventNo: number): { t: string; at: number } | undefined {
    if (!Number.isInteger(eventNo) || eventNo < 1 || eventNo > this.#eventCount) return undefined;
    return { t: this.#types[this.#eventTypes[eventNo]!]!, at: this.#eventTimes[eventNo]! };
  }

  /** Routed dispatches numbered so far (a test's `since`). */
  get logicalEventCount(): number {
    return this.#eventCount;
  }

  /**
   * Records that `sessionId` (of `shardId`) sequenced dispatch `seq`; seqs must arrive as 1, 2, 3...
   * `eventNo` is the routed dispatch it carries (newEvent()), 0 for one of the session's own.
   */
  recordEvent(shardId: number, sessionId: string, seq: number, eventNo = 0): void {
    let track = this.#sessions.get(sessionId);
    if (!track) {
      track = { sessionId, times: new Float64Array(64), events: new Uint32Array(64), count: 0 };
      this.#sessions.set(sessionId, track);
      const list = this.#sessionsByShard.get(shardId) ?? [];
      list.push(track);
      this.#sessionsByShard.set(shardId, list);
    }
    if (seq !== track.count + 1) return;
    track.times = grow(track.times, seq, (n) => new Float64Array(n));
    track.events = grow(track.events, seq, (n) => new Uint32Array(n));
    track.times[track.count] = this.#now();
    track.events[track.count] = eventNo;
    track.count = seq;
  }

  /**
   * Every routed dispatch after logical event `since` against what the client handled through
   * any session: lost ones, and ones handled twice, split by `idCarrying(t)`. Handled entries
   * of unknown sessions or of a session's own dispatches are ignored.
   */
  checkLogical(handled: readonly HandledDispatch[], options: { since?: number; idCarrying?: (t: string) => boolean } = {}): LogicalCheck {
    const since = options.since ?? 0;
    const idCarrying = options.idCarrying ?? (() => false);
    const counts = new Uint32Array(this.#eventCount + 1);
    const reached = new Uint8Array(this.#eventCount + 1);
    for (const track of this.#sessions.values()) for (let i = 0; i < track.count; i += 1) reached[track.events[i]!] = 1;
    for (const { sessionId, seq } of handled) {
      const track = this.#sessions.get(sessionId);
      if (!track || !Number.isInteger(seq) || seq < 1 || seq > track.count) continue;
      const eventNo = track.events[seq - 1]!;
      if (eventNo > 0) counts[eventNo] = counts[eventNo]! + 1;
    }
    const result: LogicalCheck = { expected: 0, handled: 0, lost: [], duplicatedIdCarrying: [], duplicatedOther: 0 };
    for (let n = since + 1; n <= this.#eventCount; n += 1) {
      if (reached[n] === 0) continue;
      result.expected += 1;
      const times = counts[n]!;
      const event = (): LogicalEvent => ({ eventNo: n, t: this.#types[this.#eventTypes[n]!]!, at: this.#eventTimes[n]!, handled: times });
      if (times === 0) result.lost.push(event());
      else result.handled += 1;
      if (times > 1) {
        if (idCarrying(this.#types[this.#eventTypes[n]!]!)) result.duplicatedIdCarrying.push(event());
        else result.duplicatedOther += 1;
      }
    }
    return result;
  }

  /** The logical event a session's seq carried (0 for the session's own dispatch, undefined if unknown). */
  eventOf(sessionId: string, seq: number): number | undefined {
    const track = this.#sessions.get(sessionId);
    if (!track || seq < 1 || seq > track.count) return undefined;
    return track.events[seq - 1];
  }

  /** `count` dispatches sequenced at once from `fromSeq` on (a replayed chunk): one clock read for all. */
  recordEvents(shardId: number, sessionId: string, fromSeq: number, count: number, eventNos?: ArrayLike<number>): void {
    if (count <= 0) return;
    this.recordEvent(shardId, sessionId, fromSeq, eventNos?.[0] ?? 0);
    const track = this.#sessions.get(sessionId)!;
    if (track.count !== fromSeq) return;
    const last = fromSeq + count - 1;
    track.times = grow(track.times, last, (n) => new Float64Array(n));
    track.events = grow(track.events, last, (n) => new Uint32Array(n));
    track.times.fill(track.times[fromSeq - 1]!, fromSeq, last);
    if (eventNos) for (let i = 1; i < count; i += 1) track.events[fromSeq - 1 + i] = eventNos[i] ?? 0;
    else track.events.fill(0, fromSeq, last);
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

  /** The shard's newest session and how many dispatches it sequenced so far (cheap); undefined before its first. */
  latestSession(shardId: number): { readonly sessionId: string; readonly count: number } | undefined {
    const track = this.#sessionsByShard.get(shardId)?.at(-1);
    return track ? { sessionId: track.sessionId, count: track.count } : undefined;
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

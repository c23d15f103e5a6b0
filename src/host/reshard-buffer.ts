import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { dispatchKey } from '../core/event-identity.ts';
import type { DispatchContext } from '../gateway/shard-options.ts';

/** One dispatch a shadow shard (a new-set shard before its switch) received and held back. */
export interface BufferedDispatch {
  readonly payload: GatewayDispatchPayload;
  readonly context: DispatchContext;
  /** This node's clock when it arrived. */
  readonly at: number;
  /** READY, or a GUILD_CREATE of a guild READY listed: the session's own snapshot, not an event. */
  readonly burst: boolean;
  /** `t:id` of an id-carrying dispatch (core/event-identity), else null. */
  readonly key: string | null;
}

export interface ShadowBufferOptions {
  /** After this long past READY the burst counts as over even if some guild never arrived (an outage). */
  readonly burstTimeoutMs: number;
  /** Held at most; past it the oldest non-burst dispatches go (a switch that never comes must not eat the node). */
  readonly maxItems?: number;
}

/**
 * What a shadow shard keeps until its switch: every dispatch, in order, and whether its
 * GUILD_CREATE burst is over (each guild READY listed has arrived), which is when the switch
 * may happen.
 */
export class ShadowBuffer {
  readonly #o: ShadowBufferOptions;
  #items: BufferedDispatch[] = [];
  #expected: Set<string> | null = null;
  #readyAt: number | null = null;
  #caughtUp = false;
  #dropped = 0;

  constructor(options: ShadowBufferOptions) {
    this.#o = options;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Dispatches dropped for room: the switch then replays from what is left (still correct while the old set writes). */
  get dropped(): number {
    return this.#dropped;
  }

  /** READY and all its guilds' GUILD_CREATEs are here (or the burst timed out, or the session was resumed). */
  caughtUp(now: number): boolean {
    if (!this.#caughtUp && this.#readyAt !== null && now - this.#readyAt >= this.#o.burstTimeoutMs) this.#caughtUp = true;
    return this.#caughtUp;
  }

  push(payload: GatewayDispatchPayload, context: DispatchContext, now: number): void {
    let burst = false;
    if (payload.t === 'READY') {
      const guilds = (payload.d as { guilds?: { id?: unknown }[] }).guilds ?? [];
      this.#expected = new Set(guilds.flatMap((g) => (typeof g.id === 'string' ? [g.id] : [])));
      this.#readyAt = now;
      this.#caughtUp = this.#expected.size === 0;
      burst = true;
    } else if (payload.t === 'RESUMED') {
      // A resumed shadow (its node failed over) had its burst before.
      this.#caughtUp = true;
    } else if ((payload.t === 'GUILD_CREATE' || payload.t === 'GUILD_DELETE') && this.#expected) {
      const id = (payload.d as { id?: unknown }).id;
      if (typeof id === 'string' && this.#expected.delete(id)) {
        burst = payload.t === 'GUILD_CREATE';
        if (this.#expected.size === 0) this.#caughtUp = true;
      }
    }
    this.#items.push({ payload, context, at: now, burst, key: dispatchKey(payload.t, payload.d) });
    const max = this.#o.maxItems ?? 500_000;
    if (this.#items.length > max) {
      const index = this.#items.findIndex((item) => !item.burst);
      if (index >= 0) {
        this.#items.splice(index, 1);
        this.#dropped += 1;
      }
    }
  }

  /** Everything held, oldest first; the buffer is empty afterwards. */
  drain(): BufferedDispatch[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}

export interface ReplayOptions {
  /** Keys of id-carrying dispatches the old set's handlers already saw. */
  readonly skipKeys: ReadonlySet<string>;
  /**
   * An old shard of the group was not running (failed with 4011, or its node dead): nobody
   * handled its range's events, so every held dispatch reaches the handlers.
   */
  readonly uncovered: boolean;
  /**
   * Other dispatches from this long before the last one the old set handled (the sync point)
   * reach the handlers again: the two sessions' order may differ a little across guilds.
   */
  readonly overlapMs: number;
}

export interface ReplayPlan {
  /** Dispatches whose cache effects the take-over writes, in order (one transaction): all of them. */
  readonly cache: readonly BufferedDispatch[];
  /** Dispatches the handlers get, in order. */
  readonly handlers: BufferedDispatch[];
  /** This node's time from which other (id-less) dispatches reach the handlers. */
  readonly cutAt: number;
}

/**
 * Which held dispatches a new shard replays when its group switches. The cache gets all of
 * them, READY's clear of the range and the GUILD_CREATE snapshots included: the range is
 * rebuilt as an IDENTIFY would build it, from the snapshot and every event after it, in one
 * transaction after the old set's last write. Replaying only the deltas onto the old set's rows
 * would not do: applied twice, a member upsert (a voice join, an update) revives a member the
 * old set already removed, and its removal then counts twice in member_count.
 * The handlers get each id-carrying dispatch the old set did not handle (exactly once), and the
 * others from a little before the last point both streams share (at least once).
 */
export function replayPlan(items: readonly BufferedDispatch[], options: ReplayOptions): ReplayPlan {
  const cache = items;
  let cutAt = Number.NEGATIVE_INFINITY;
  if (!options.uncovered) {
    for (const item of items) if (item.key !== null && options.skipKeys.has(item.key)) cutAt = item.at - options.overlapMs;
  }
  const handlers = items.filter((item) => {
    if (item.burst) return false;
    if (item.key !== null) return !options.skipKeys.has(item.key);
    return item.at >= cutAt;
  });
  return { cache, handlers, cutAt };
}

/**
 * Keys of the id-carrying dispatches a runner's handlers saw while a reshard runs, in order;
 * bounded (oldest dropped) so a reshard that never ends cannot eat the node.
 */
export class HandledKeys {
  readonly #keys = new Set<string>();
  readonly #max: number;

  constructor(max = 1_000_000) {
    this.#max = max;
  }

  get size(): number {
    return this.#keys.size;
  }

  add(key: string): void {
    this.#keys.add(key);
    if (this.#keys.size > this.#max) this.#keys.delete(this.#keys.values().next().value!);
  }

  addAll(keys: Iterable<string>): void {
    for (const key of keys) this.add(key);
  }

  values(): string[] {
    return [...this.#keys];
  }
}

import { ShardlineError } from '../core/errors.ts';
import { SeededRandom } from './seeded-random.ts';
import type { TimerRegistry } from './timer-registry.ts';
import { TrafficPicks } from './traffic-picks.ts';
import { DEFAULT_TRAFFIC_MIX, TRAFFIC_EVENTS, generateEvent } from './traffic-events.ts';
import type { TrafficEvent, TrafficMix, TrafficSink } from './traffic-events.ts';
import type { World } from './world.ts';

export interface TrafficStartOptions {
  eventsPerSecond: number;
  mix?: TrafficMix;
  /** Timer period; each tick emits every event due since the last one. Default 20 ms. */
  tickMs?: number;
}

/** Per-kind counts of what was generated so far. */
export type TrafficCounts = Partial<Record<TrafficEvent, number>>;

/**
 * A stream of world-mutating events. One timer per stream, not per event: each tick emits the
 * whole batch that came due, so tens of thousands of events/s cost a few dozen timer callbacks.
 */
export class Traffic {
  readonly #world: World;
  readonly #sink: TrafficSink;
  readonly #timers: TimerRegistry;
  readonly #random: SeededRandom;
  readonly #counts: TrafficCounts = {};
  readonly #picks: TrafficPicks;
  #kinds: TrafficEvent[] = [];
  #cumulative: number[] = [];
  #total = 0;
  #timer: NodeJS.Timeout | undefined;
  #rate = 0;

  constructor(world: World, sink: TrafficSink, timers: TimerRegistry) {
    this.#world = world;
    this.#sink = sink;
    this.#timers = timers;
    this.#random = SeededRandom.derive(world.seed, 1);
    this.#picks = new TrafficPicks(() => world.botUser.id);
    this.setMix(undefined);
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  get eventsPerSecond(): number {
    return this.#rate;
  }

  counts(): TrafficCounts {
    return { ...this.#counts };
  }

  setMix(mix: TrafficMix | undefined): void {
    const weights = { ...DEFAULT_TRAFFIC_MIX, ...(mix ? Object.fromEntries(TRAFFIC_EVENTS.map((k) => [k, 0])) : {}), ...mix };
    this.#kinds = [];
    this.#cumulative = [];
    let sum = 0;
    for (const kind of TRAFFIC_EVENTS) {
      const weight = weights[kind] ?? 0;
      if (!Number.isFinite(weight) || weight < 0) throw new ShardlineError('INVALID_INPUT', `Cannot set traffic mix: weight of ${kind} must be >= 0, got ${String(weight)}`);
      if (weight === 0) continue;
      sum += weight;
      this.#kinds.push(kind);
      this.#cumulative.push(sum);
    }
    if (sum === 0) throw new ShardlineError('INVALID_INPUT', 'Cannot set traffic mix: every weight is 0');
    this.#total = sum;
  }

  /** Generates `n` events now, synchronously; returns how many were actually emitted. */
  emit(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw new ShardlineError('INVALID_INPUT', `Cannot emit traffic: count must be a non-negative integer, got ${String(n)}`);
    const ctx = { world: this.#world, random: this.#random, sink: this.#sink, picks: this.#picks };
    let emitted = 0;
    for (let i = 0; i < n; i += 1) {
      const kind = generateEvent(ctx, this.#pickKind());
      if (kind === null) break;
      this.#counts[kind] = (this.#counts[kind] ?? 0) + 1;
      emitted += 1;
    }
    return emitted;
  }

  start(options: TrafficStartOptions): void {
    const { eventsPerSecond } = options;
    if (!Number.isFinite(eventsPerSecond) || eventsPerSecond <= 0) {
      throw new ShardlineError('INVALID_INPUT', `Cannot start traffic: eventsPerSecond must be > 0, got ${String(eventsPerSecond)}`);
    }
    this.stop();
    if (options.mix) this.setMix(options.mix);
    this.#rate = eventsPerSecond;
    const tickMs = options.tickMs ?? 20;
    let last = performance.now();
    let owed = 0;
    this.#timer = this.#timers.setInterval(() => {
      const now = performance.now();
      // Catch up at most one second after a stall (GC, a loaded machine) rather than bursting.
      owed = Math.min(owed + ((now - last) / 1000) * eventsPerSecond, eventsPerSecond);
      last = now;
      const due = Math.floor(owed);
      if (due === 0) return;
      owed -= due;
      this.emit(due);
    }, tickMs);
  }

  stop(): void {
    this.#timers.clear(this.#timer);
    this.#timer = undefined;
    this.#rate = 0;
  }

  #pickKind(): TrafficEvent {
    const r = this.#random.next() * this.#total;
    for (let i = 0; i < this.#cumulative.length; i += 1) if (r < this.#cumulative[i]!) return this.#kinds[i]!;
    return this.#kinds[this.#kinds.length - 1]!;
  }
}

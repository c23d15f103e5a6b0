import type { Clock } from '../core/ports.ts';
import type { TimerSet } from './timer-set.ts';

export interface HeartbeaterOptions {
  timers: TimerSet;
  clock: Clock;
  /** [0, 1); the first beat waits interval * random() as Discord asks. Injectable for tests. */
  random: () => number;
  /** Sends op 1 (the caller fills in the last seq). */
  beat: () => void;
  /** No ACK arrived between two beats: the connection is a zombie. Called once. */
  onZombie: () => void;
  onAck: (latencyMs: number) => void;
  /**
   * True while the shard has paused reading for back-pressure: an ACK may be sitting
   * unread, so a missing one proves nothing.
   */
  readingPaused?: () => boolean;
}

/** Heartbeat schedule and zombie detection of one connection. */
export class Heartbeater {
  readonly #o: HeartbeaterOptions;
  #acked = true;
  #sentAt = 0;
  #first: ReturnType<typeof setTimeout> | undefined;
  #interval: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(options: HeartbeaterOptions) {
    this.#o = options;
  }

  start(intervalMs: number): void {
    this.stop();
    this.#stopped = false;
    this.#acked = true;
    const firstDelay = Math.floor(intervalMs * Math.min(Math.max(this.#o.random(), 0), 1));
    this.#first = this.#o.timers.setTimeout(() => {
      this.#first = undefined;
      this.#tick();
      if (!this.#stopped) this.#interval = this.#o.timers.setInterval(() => this.#tick(), intervalMs);
    }, firstDelay);
  }

  /** Server op 1: beat at once, leaving the schedule as it is. */
  beatNow(): void {
    if (this.#stopped) return;
    this.#send();
  }

  ack(): void {
    if (this.#stopped) return;
    this.#acked = true;
    this.#o.onAck(Math.max(0, this.#o.clock.now() - this.#sentAt));
  }

  stop(): void {
    this.#stopped = true;
    this.#o.timers.clear(this.#first);
    this.#o.timers.clear(this.#interval);
    this.#first = undefined;
    this.#interval = undefined;
  }

  #tick(): void {
    if (this.#stopped) return;
    if (!this.#acked && !(this.#o.readingPaused?.() ?? false)) {
      this.stop();
      this.#o.onZombie();
      return;
    }
    this.#send();
  }

  #send(): void {
    this.#acked = false;
    this.#sentAt = this.#o.clock.now();
    this.#o.beat();
  }
}

/**
 * Notices when this node's event loop was blocked: a timer that fires late means nothing else
 * ran meanwhile, so no shard read its socket or sent its heartbeat, and the primary saw no
 * heartbeat from this node. The usual cause is synchronous work in a bot handler (a big
 * ctx.sql(), a CPU loop); the log line says how long, so that a missed heartbeat or a failover
 * can be traced to it. Portable timers only, so Node and Deno run the same code.
 */
import type { Logger } from '../core/ports.ts';

export interface LoopStallStats {
  /** Times the loop was blocked for at least `thresholdMs`. */
  readonly stalls: number;
  /** Their total length. */
  readonly stalledMs: number;
  readonly maxStallMs: number;
  readonly lastStallMs: number | null;
  /** Epoch ms when the last stall ended. */
  readonly lastStallAt: number | null;
}

export interface LoopStallMonitorOptions {
  readonly logger: Logger;
  /** How often the timer is meant to fire (default 100 ms). */
  readonly intervalMs?: number;
  /** Lateness counted as a stall (default 250 ms: longer than any GC pause the funnel causes). */
  readonly thresholdMs?: number;
  /** Lateness that is logged as a warning (default 1000 ms), at most once per `warnEveryMs`. */
  readonly warnMs?: number;
  readonly warnEveryMs?: number;
  readonly now?: () => number;
}

export class LoopStallMonitor {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #thresholdMs: number;
  readonly #warnMs: number;
  readonly #warnEveryMs: number;
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #due = 0;
  #stats = { stalls: 0, stalledMs: 0, maxStallMs: 0, lastStallMs: null as number | null, lastStallAt: null as number | null };
  #lastWarnAt = -Infinity;
  #unwarned = 0;

  constructor(options: LoopStallMonitorOptions) {
    this.#log = options.logger;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#thresholdMs = options.thresholdMs ?? 250;
    this.#warnMs = options.warnMs ?? 1000;
    this.#warnEveryMs = options.warnEveryMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#arm();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  stats(): LoopStallStats {
    return { ...this.#stats };
  }

  #arm(): void {
    this.#due = this.#now() + this.#intervalMs;
    this.#timer = setTimeout(() => this.#tick(), this.#intervalMs);
  }

  #tick(): void {
    const now = this.#now();
    const lateMs = now - this.#due;
    if (lateMs >= this.#thresholdMs) this.#stalled(Math.round(lateMs), now);
    this.#arm();
  }

  #stalled(ms: number, now: number): void {
    const s = this.#stats;
    s.stalls += 1;
    s.stalledMs += ms;
    s.maxStallMs = Math.max(s.maxStallMs, ms);
    s.lastStallMs = ms;
    s.lastStallAt = now;
    if (ms < this.#warnMs) {
      this.#log.debug({ blockedMs: ms }, 'event loop was blocked');
      return;
    }
    if (now - this.#lastWarnAt < this.#warnEveryMs) {
      this.#unwarned += 1;
      return;
    }
    this.#log.warn(
      { blockedMs: ms, stalls: s.stalls, notLogged: this.#unwarned },
      `event loop was blocked for ${ms} ms: no shard read its socket or sent a heartbeat meanwhile; look for synchronous work in bot handlers: a CPU-bound loop, or a large ctx.sql() (ctx.query() runs SQL off the event loop)`,
    );
    this.#lastWarnAt = now;
    this.#unwarned = 0;
  }
}

/**
 * Notices when this node's event loop was blocked: a timer that fires late means nothing else
 * ran meanwhile, so no shard read its socket or sent its heartbeat, and the primary saw no
 * heartbeat from this node. The usual cause is synchronous work in a bot handler (a big
 * ctx.sql(), a CPU loop); the log line says how long, so that a missed heartbeat or a failover
 * can be traced to it. Portable timers only, so Node and Deno run the same code.
 *
 * A timer is also late when the machine did not run this process (other processes on its
 * cores, a paused VM). Where the runtime reports the event loop thread's CPU time, each stall
 * says how much of it the thread spent working: a stall it was on CPU for is this node's own
 * doing (a handler, a large ctx.sql(), a serialization, a long GC) and counts as `busyStalls`.
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
  /**
   * Stalls the event loop thread itself was on CPU for at least `thresholdMs` of: blocked by
   * this node's own work rather than by a machine that did not run it. Every stall counts
   * where the runtime cannot tell a thread's CPU time.
   */
  readonly busyStalls: number;
  readonly maxBusyStallMs: number;
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
  /** CPU time of the calling (event loop) thread in ms, where the runtime tells (Runtime.threadCpuMs). */
  readonly threadCpuMs?: () => number | null;
}

export class LoopStallMonitor {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #thresholdMs: number;
  readonly #warnMs: number;
  readonly #warnEveryMs: number;
  readonly #now: () => number;
  readonly #threadCpuMs: () => number | null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #due = 0;
  #cpuAtArm: number | null = null;
  #stats = { stalls: 0, stalledMs: 0, maxStallMs: 0, lastStallMs: null as number | null, lastStallAt: null as number | null, busyStalls: 0, maxBusyStallMs: 0 };
  #lastWarnAt = -Infinity;
  #unwarned = 0;

  constructor(options: LoopStallMonitorOptions) {
    this.#log = options.logger;
    this.#intervalMs = options.intervalMs ?? 100;
    this.#thresholdMs = options.thresholdMs ?? 250;
    this.#warnMs = options.warnMs ?? 1000;
    this.#warnEveryMs = options.warnEveryMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#threadCpuMs = options.threadCpuMs ?? (() => null);
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#arm(this.#threadCpuMs());
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  stats(): LoopStallStats {
    return { ...this.#stats };
  }

  #arm(cpu: number | null): void {
    this.#due = this.#now() + this.#intervalMs;
    this.#cpuAtArm = cpu;
    this.#timer = setTimeout(() => this.#tick(), this.#intervalMs);
  }

  #tick(): void {
    const now = this.#now();
    const cpu = this.#threadCpuMs();
    const lateMs = now - this.#due;
    if (lateMs >= this.#thresholdMs) {
      // The thread cannot have worked longer than it was late, nor longer than it was on CPU.
      const onCpuMs = cpu === null || this.#cpuAtArm === null ? null : Math.round(Math.min(lateMs, cpu - this.#cpuAtArm));
      this.#stalled(Math.round(lateMs), now, onCpuMs);
    }
    this.#arm(cpu);
  }

  #stalled(ms: number, now: number, onCpuMs: number | null): void {
    const s = this.#stats;
    s.stalls += 1;
    s.stalledMs += ms;
    s.maxStallMs = Math.max(s.maxStallMs, ms);
    s.lastStallMs = ms;
    s.lastStallAt = now;
    const busy = onCpuMs === null || onCpuMs >= this.#thresholdMs;
    if (busy) {
      s.busyStalls += 1;
      s.maxBusyStallMs = Math.max(s.maxBusyStallMs, ms);
    }
    if (ms < this.#warnMs) {
      this.#log.debug({ blockedMs: ms, onCpuMs }, 'event loop was blocked');
      return;
    }
    if (now - this.#lastWarnAt < this.#warnEveryMs) {
      this.#unwarned += 1;
      return;
    }
    this.#log.warn(
      { blockedMs: ms, onCpuMs, stalls: s.stalls, notLogged: this.#unwarned },
      busy
        ? `event loop was blocked for ${ms} ms: no shard read its socket or sent a heartbeat meanwhile; look for synchronous work in bot handlers: a CPU-bound loop, or a large ctx.sql() (ctx.query() runs SQL off the event loop)`
        : `event loop was blocked for ${ms} ms, of which this thread ran only ${onCpuMs} ms: the machine did not run it (other processes on its cores, a paused VM); no shard read its socket or sent a heartbeat meanwhile`,
    );
    this.#lastWarnAt = now;
    this.#unwarned = 0;
  }
}

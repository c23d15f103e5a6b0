import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../core/ports.ts';
import { LoopStallMonitor } from './loop-stall-monitor.ts';

function recordingLogger(): { logger: Logger; warnings: { obj: unknown; msg: string | undefined }[]; debugs: number } {
  const out = { warnings: [] as { obj: unknown; msg: string | undefined }[], debugs: 0 };
  const logger: Logger = {
    child: () => logger,
    trace: () => {},
    debug: () => void (out.debugs += 1),
    info: () => {},
    warn: (obj, msg) => void out.warnings.push({ obj, msg }),
    error: () => {},
    fatal: () => {},
  };
  return { logger, get warnings() { return out.warnings; }, get debugs() { return out.debugs; } };
}

describe('LoopStallMonitor', () => {
  let clock = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    clock = 0;
  });
  afterEach(() => vi.useRealTimers());

  // The timer fires when the fake timers say so; `clock` is what the monitor reads then, so
  // moving it ahead first is a loop that was blocked for that long.
  const fire = (blockedMs: number): void => {
    clock += 100 + blockedMs;
    vi.advanceTimersByTime(100);
  };

  it('counts a late timer as a stall, logs a long one as a warning naming its length, and ignores punctual ones', () => {
    const log = recordingLogger();
    const monitor = new LoopStallMonitor({ logger: log.logger, now: () => clock });
    monitor.start();
    fire(0);
    fire(100);
    expect(monitor.stats()).toEqual({ stalls: 0, stalledMs: 0, maxStallMs: 0, lastStallMs: null, lastStallAt: null, busyStalls: 0, maxBusyStallMs: 0 });
    fire(400);
    expect(monitor.stats()).toMatchObject({ stalls: 1, stalledMs: 400, maxStallMs: 400, lastStallMs: 400, lastStallAt: clock });
    expect(log.debugs).toBe(1);
    expect(log.warnings).toHaveLength(0);
    fire(2300);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]!.msg).toMatch(/^event loop was blocked for 2300 ms: no shard read its socket or sent a heartbeat meanwhile/);
    expect(monitor.stats()).toMatchObject({ stalls: 2, stalledMs: 2700, maxStallMs: 2300, lastStallMs: 2300 });
    monitor.close();
  });

  it('warns at most once per warnEveryMs and says how many it did not log', () => {
    const log = recordingLogger();
    const monitor = new LoopStallMonitor({ logger: log.logger, now: () => clock, warnEveryMs: 10_000 });
    monitor.start();
    fire(1500);
    fire(1500);
    fire(1500);
    expect(log.warnings).toHaveLength(1);
    fire(10_000);
    expect(log.warnings).toHaveLength(2);
    expect(log.warnings[1]!.obj).toMatchObject({ blockedMs: 10_000, stalls: 4, notLogged: 2 });
    monitor.close();
  });

  it("tells a stall this thread worked through from one the machine caused, by the thread's CPU time", () => {
    const log = recordingLogger();
    let cpu = 0;
    const monitor = new LoopStallMonitor({ logger: log.logger, now: () => clock, threadCpuMs: () => cpu });
    monitor.start();
    // Blocked by its own work: on CPU the whole time.
    cpu += 1300;
    fire(1200);
    expect(monitor.stats()).toMatchObject({ stalls: 1, busyStalls: 1, maxBusyStallMs: 1200 });
    // Not run by the machine: late, but hardly on CPU.
    cpu += 20;
    fire(1500);
    expect(monitor.stats()).toMatchObject({ stalls: 2, busyStalls: 1, maxBusyStallMs: 1200, maxStallMs: 1500 });
    monitor.close();
  });

  it('counts every stall as busy where the runtime cannot tell the thread CPU time', () => {
    const monitor = new LoopStallMonitor({ logger: recordingLogger().logger, now: () => clock, threadCpuMs: () => null });
    monitor.start();
    fire(400);
    expect(monitor.stats()).toMatchObject({ stalls: 1, busyStalls: 1 });
    monitor.close();
  });

  it('leaves no timer behind after close()', () => {
    const monitor = new LoopStallMonitor({ logger: recordingLogger().logger, now: () => clock });
    monitor.start();
    monitor.start();
    expect(vi.getTimerCount()).toBe(1);
    monitor.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});

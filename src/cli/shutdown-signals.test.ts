import { describe, expect, it } from 'vitest';
import { shutdownSignals } from './shutdown-signals.ts';

function fakeProcess() {
  const listeners = new Set<(signal: string) => void>();
  return {
    runtime: {
      onShutdownSignal: (listener: (signal: string) => void) => {
        listeners.add(listener);
        return () => void listeners.delete(listener);
      },
    },
    send: (signal: string) => [...listeners].forEach((l) => l(signal)),
    listening: () => listeners.size,
  };
}

describe('shutdownSignals', () => {
  it('asks for a leave on the first signal and for a stop at once on a later second one', () => {
    const proc = fakeProcess();
    let t = 1_000;
    const signals = shutdownSignals(proc.runtime, { repeatAfterMs: 1_000, now: () => t });
    expect([signals.stop.aborted, signals.now.aborted]).toEqual([false, false]);
    proc.send('SIGTERM');
    expect([signals.stop.aborted, signals.now.aborted]).toEqual([true, false]);
    // The same stop said twice (LiteFS passes on the signal its process group also got): still a leave.
    t += 5;
    proc.send('SIGTERM');
    expect(signals.now.aborted).toBe(false);
    t += 2_000;
    proc.send('SIGINT');
    expect(signals.now.aborted).toBe(true);
    expect(String((signals.now.reason as Error).message)).toContain('SIGINT again');
    expect(proc.listening()).toBe(0);
  });

  it('stops listening when asked', () => {
    const proc = fakeProcess();
    const signals = shutdownSignals(proc.runtime);
    signals.off();
    proc.send('SIGINT');
    expect(signals.stop.aborted).toBe(false);
  });
});

import { ShardlineError } from '../core/errors.ts';
import type { Runtime } from '../core/runtime.ts';

/**
 * A signal that arrives this soon after the first is the same stop said twice, not a second
 * one: under LiteFS, Ctrl-C in a terminal reaches both LiteFS and shardline (one process
 * group), and LiteFS passes it on to its exec'd child as well.
 */
export const REPEAT_AFTER_MS = 1_000;

export interface ShutdownSignals {
  /** Aborts on the first SIGINT/SIGTERM: leave gracefully. */
  readonly stop: AbortSignal;
  /** Aborts on a second one at least `repeatAfterMs` later: stop at once. */
  readonly now: AbortSignal;
  /** Removes the listener. */
  off(): void;
}

/** Follows the process's shutdown signals: the first asks for a graceful leave, a later second one cuts it short. */
export function shutdownSignals(runtime: Pick<Runtime, 'onShutdownSignal'>, options: { repeatAfterMs?: number; now?: () => number } = {}): ShutdownSignals {
  const repeatAfterMs = options.repeatAfterMs ?? REPEAT_AFTER_MS;
  const clock = options.now ?? Date.now;
  const stop = new AbortController();
  const now = new AbortController();
  let firstAt = 0;
  const off = runtime.onShutdownSignal((signal) => {
    if (!stop.signal.aborted) {
      firstAt = clock();
      stop.abort(new ShardlineError('CLOSED', `received ${signal}`));
    } else if (clock() - firstAt >= repeatAfterMs) {
      now.abort(new ShardlineError('CLOSED', `received ${signal} again`));
      off();
    }
  });
  return { stop: stop.signal, now: now.signal, off };
}

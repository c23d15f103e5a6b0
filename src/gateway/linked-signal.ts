import { abortReason } from '../core/errors.ts';

/**
 * A signal that aborts when any input does, with `dispose()` to detach from the inputs.
 * Unlike a fire-and-forget combination it leaves no listener on a long-lived signal (the
 * shard's lifetime) after the wait it served is over.
 */
export function linkSignals(signals: readonly (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  const dispose = (): void => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  };
  for (const signal of signals) {
    if (!signal) continue;
    if (signal.aborted) {
      controller.abort(abortReason(signal));
      dispose();
      break;
    }
    const onAbort = (): void => {
      controller.abort(abortReason(signal));
      dispose();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    cleanups.push(() => signal.removeEventListener('abort', onAbort));
  }
  return { signal: controller.signal, dispose };
}

import { ShardlineError } from '../core/errors.ts';
import type { ShardRunner } from './shard-runner.ts';

export interface StartupProgress {
  readonly total: number;
  readonly identifying: number;
  readonly resuming: number;
  readonly ready: number;
}

export function startupProgress(runners: readonly ShardRunner[]): StartupProgress {
  let identifying = 0;
  let resuming = 0;
  let ready = 0;
  for (const runner of runners) {
    const status = runner.shard.status;
    if (status === 'ready') ready++;
    else if (status === 'resuming') resuming++;
    else if (status === 'identifying' || status === 'connecting' || status === 'idle') identifying++;
  }
  return { total: runners.length, identifying, resuming, ready };
}

/** `onProgress` returns its unsubscribe, so a settled wait leaves no listener behind. */
export interface StartupWatch {
  readonly shardCount: number;
  readonly signal: AbortSignal;
  progress(): StartupProgress;
  runners(): ShardRunner[];
  onProgress(listener: () => void): () => void;
}

/**
 * Resolves once all `shardCount` shards run here and are ready; rejects as soon as one has
 * failed for good (waiting longer would hang the caller) or the host closes.
 */
export function untilAllReady(watch: StartupWatch): Promise<void> {
  const signal = watch.signal;
  return new Promise<void>((resolve, reject) => {
    const check = (): void => {
      const p = watch.progress();
      if (p.total === watch.shardCount && p.ready === p.total) done(resolve);
      else {
        const failed = watch.runners().find((r) => r.shard.status === 'failed');
        if (failed) done(() => reject(new ShardlineError('GATEWAY_FATAL', `Shard ${failed.shardId} failed to start; see the log`)));
      }
    };
    const offProgress = watch.onProgress(check);
    const onAbort = (): void => done(() => reject(new ShardlineError('CLOSED', 'Host closed while starting')));
    const done = (settle: () => void): void => {
      offProgress();
      signal.removeEventListener('abort', onAbort);
      settle();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

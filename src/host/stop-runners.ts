import { ShardlineError } from '../core/errors.ts';
import type { Writer } from '../core/mutation.ts';
import type { Logger } from '../core/ports.ts';
import type { ShardRunner } from './shard-runner.ts';

/** How long a graceful stop waits for the last writes: a stuck primary must not hold the process open. */
const FINAL_FLUSH_MS = 5_000;

/**
 * Stops this node's shards. Gracefully, they detach resumably and their final seqs are
 * flushed (best effort: a failure is logged, the stop goes on); otherwise they just stop.
 */
export async function stopRunners(runners: readonly ShardRunner[], graceful: boolean, writer: Writer | null, logger: Logger): Promise<void> {
  if (graceful) {
    const results = await Promise.allSettled(runners.map((r) => r.detach()));
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) logger.warn({ failed }, 'some shards could not detach cleanly');
    await withTimeout(writer?.flush(), FINAL_FLUSH_MS).catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'could not flush every write before stopping'));
  } else {
    await Promise.allSettled(runners.map((r) => r.stop()));
  }
}

function withTimeout<T>(promise: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!promise) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ShardlineError('TIMEOUT', `gave up after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

import { raceAbort } from '../core/abort.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Clock, IdentifyThrottler } from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { TimerSet } from './timer-set.ts';

export interface LocalIdentifyThrottlerOptions {
  /** session_start_limit.max_concurrency: the number of buckets. */
  maxConcurrency: number;
  /** Minimum time between two IDENTIFYs of one bucket. Discord: 5000 ms. */
  spacingMs?: number;
  clock?: Clock;
}

interface Bucket {
  /** Earliest time the next identify of this bucket may be granted. */
  nextAt: number;
  /** Settles when every earlier waiter of this bucket is done (granted or gone). */
  tail: Promise<void>;
}

/**
 * Identify throttling for shards in one process: bucket = shard_id % maxConcurrency, one
 * grant per bucket per `spacingMs`, buckets independent of each other. A cluster replaces it
 * with the primary's ledger behind the same IdentifyThrottler port.
 */
export class LocalIdentifyThrottler implements IdentifyThrottler {
  readonly maxConcurrency: number;
  readonly spacingMs: number;
  readonly #clock: Clock;
  readonly #timers = new TimerSet();
  readonly #buckets = new Map<number, Bucket>();

  constructor(options: LocalIdentifyThrottlerOptions) {
    if (!Number.isInteger(options.maxConcurrency) || options.maxConcurrency < 1) {
      throw new ShardlineError('INVALID_CONFIG', `Invalid identify throttler: maxConcurrency must be a positive integer, got ${options.maxConcurrency}`);
    }
    this.maxConcurrency = options.maxConcurrency;
    this.spacingMs = options.spacingMs ?? 5_000;
    this.#clock = options.clock ?? systemClock;
  }

  /** Timers currently scheduled (0 once every waiter is granted or aborted). */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  bucketOf(shardId: number): number {
    return shardId % this.maxConcurrency;
  }

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    if (!Number.isInteger(shardId) || shardId < 0) {
      throw new ShardlineError('INVALID_INPUT', `Cannot throttle identify: shard id must be a non-negative integer, got ${shardId}`);
    }
    const key = this.bucketOf(shardId);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { nextAt: 0, tail: Promise.resolve() };
      this.#buckets.set(key, bucket);
    }
    const previous = bucket.tail;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    bucket.tail = previous.then(() => mine);
    try {
      await raceAbort(previous, signal);
      const wait = bucket.nextAt - this.#clock.now();
      if (wait > 0) await this.#timers.sleep(wait, signal);
      if (signal.aborted) throw signal.reason;
      bucket.nextAt = this.#clock.now() + this.spacingMs;
    } finally {
      release();
    }
  }
}

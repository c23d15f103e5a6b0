import { sleep } from '../core/abort.ts';
import type { IdentifyDecision } from '../core/identify-budget.ts';
import type { IdentifyThrottler, Logger } from '../core/ports.ts';

/**
 * Identify as a cluster resource (contract 8): every IDENTIFY asks the primary's budget for a
 * slot. No primary, no identify: the shard waits (RESUMEs never come here). A refusal below
 * the reserve is waited out too, and said loudly, rather than burning the daily limit.
 */
export class ClusterIdentifyThrottler implements IdentifyThrottler {
  readonly #ask: (shardId: number) => Promise<IdentifyDecision>;
  readonly #log: Logger;

  constructor(ask: (shardId: number) => Promise<IdentifyDecision>, logger: Logger) {
    this.#ask = ask;
    this.#log = logger.child({ component: 'identify-throttler' });
  }

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    let failures = 0;
    for (;;) {
      let decision: IdentifyDecision;
      try {
        decision = await this.#ask(shardId);
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures === 1 || failures % 20 === 0) this.#log.warn({ shardId, err: (error as Error).message }, 'cannot ask the primary for an identify slot; waiting');
        await sleep(Math.min(2_000, 100 * failures), signal);
        continue;
      }
      if (decision.kind === 'grant') return;
      if (decision.kind === 'refuse') this.#log.error({ shardId, reason: decision.reason }, 'identify refused by the primary');
      await sleep(Math.min(Math.max(decision.retryAfterMs, 10), decision.kind === 'refuse' ? 60_000 : 10_000), signal);
    }
  }
}

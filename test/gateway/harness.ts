import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Logger } from '../../src/core/ports.ts';
import { LocalIdentifyThrottler } from '../../src/gateway/local-identify-throttler.ts';
import { Shard } from '../../src/gateway/shard.ts';
import type { DispatchContext, ShardOptions } from '../../src/gateway/shard-options.ts';
import type { WsTransportOptions } from '../../src/runtime/ws-transport.ts';
import { createWsTransport } from '../../src/runtime/ws-transport.ts';
import { captureLogger } from '../helpers/log-sink.ts';

export const HEARTBEAT_MS = 400;

export interface Handled {
  sessionId: string;
  seq: number;
  t: string;
}

export interface TestShard {
  shard: Shard;
  /** Every dispatch with a seq the handler finished, in order. */
  handled: Handled[];
  /** Every event name delivered (RESUMED included). */
  names: string[];
}

type SimOptions = ConstructorParameters<typeof FakeDiscord>[0];

/**
 * One simulated Discord plus shards over the real ws transport. Small heartbeat and
 * identify spacing keep tests quick; `close()` stops every shard, then the simulator.
 */
export class Harness {
  readonly discord: FakeDiscord;
  readonly log = captureLogger('debug');
  readonly throttler = new LocalIdentifyThrottler({ maxConcurrency: 1, spacingMs: 30 });
  readonly #shards: Shard[] = [];

  constructor(sim: SimOptions = {}) {
    this.discord = new FakeDiscord({
      heartbeatIntervalMs: HEARTBEAT_MS,
      identifySpacingMs: 10,
      world: { guilds: 8, membersPerGuild: 20 },
      ...sim,
    });
  }

  get logger(): Logger {
    return this.log.logger;
  }

  async start(): Promise<this> {
    await this.discord.start();
    return this;
  }

  shard(
    options: Partial<ShardOptions> & { handler?: (ctx: DispatchContext, t: string) => void | Promise<void>; wsOptions?: WsTransportOptions } = {},
  ): TestShard {
    const handled: Handled[] = [];
    const names: string[] = [];
    const { handler, wsOptions, ...rest } = options;
    const shard = new Shard({
      shardId: 0,
      shardCount: 1,
      token: 'fake-token',
      intents: 1 | 2 | 512 | 32768,
      gatewayUrl: this.discord.gatewayUrl,
      transport: createWsTransport(wsOptions),
      identifyThrottler: this.throttler,
      logger: this.log.logger,
      random: () => 0.5,
      backoffBaseMs: 20,
      backoffCapMs: 200,
      invalidSessionDelayMs: { min: 10, max: 30 },
      helloTimeoutMs: 5_000,
      readyTimeoutMs: 10_000,
      onDispatch: (payload, ctx) => {
        names.push(payload.t);
        const done = (): void => {
          if (ctx.seq !== null) handled.push({ sessionId: ctx.sessionId, seq: ctx.seq, t: payload.t });
        };
        const result = handler?.(ctx, payload.t);
        if (result) return result.then(done);
        done();
      },
      ...rest,
    });
    this.#shards.push(shard);
    return { shard, handled, names };
  }

  /** Last seq the simulator generated for a session (0 if none). */
  lastSeq(shardId: number, sessionId: string): number {
    const events = this.discord.ledger.events(shardId).filter((e) => e.sessionId === sessionId);
    return events.length === 0 ? 0 : events[events.length - 1]!.seq;
  }

  async close(): Promise<void> {
    try {
      this.discord.traffic.stop();
    } catch {
      // traffic may not have started
    }
    await Promise.all(this.#shards.splice(0).map((s) => s.close().catch(() => {})));
    await this.discord.close();
  }
}

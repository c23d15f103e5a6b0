import type { BotDefinition } from '../bot.ts';
import type { Config } from '../config/load-config.ts';
import type { Leadership } from '../core/leadership.ts';
import type { Logger } from '../core/ports.ts';
import type { Runtime } from '../core/runtime.ts';
import type { SqliteDriverFactory } from '../core/sqlite.ts';
import type { ShardOptions } from '../gateway/shard-options.ts';
import type { RestBudgetSettings } from './rest-budget-host.ts';
import type { RunnerReshardTuning } from './shard-runner.ts';
import type { WriteFunnelOptions } from '../store/write-funnel.ts';

/** Apart from src/host.ts (which re-exports it) so the parts in src/host/ take their slice without importing the Host. */
export interface HostOptions {
  readonly config: Config;
  readonly runtime: Pick<Runtime, 'transport' | 'sqlite' | 'serve' | 'transactionWorkers' | 'queryWorkers' | 'queryWorkersMissing' | 'threadCpuMs'>;
  readonly bot?: BotDefinition;
  readonly logger?: Logger;
  /** Opens the database instead of `runtime.sqlite` (the simulated LiteFS wraps it). */
  readonly sqlite?: SqliteDriverFactory;
  /**
   * Where the funnel's transactions run; default config.writeFunnel (SHARDLINE_WRITE_FUNNEL).
   * 'thread' (the default where the runtime has transactionWorkers: Node and Deno): on a thread with
   * its own connection, so the event loop keeps reading sockets while SQLite commits. 'inline':
   * on the event loop; always so with a custom `sqlite` (the simulated LiteFS must see every
   * write) or a runtime without threads.
   */
  readonly writeFunnel?: Config['writeFunnel'];
  /** Who is primary; default: LiteFS at config.litefsUrl, else this node alone (embedded). */
  readonly leadership?: Leadership;
  /** Serve the HTTP API on config.httpHost:httpPort. Default true (a cluster node needs it). */
  readonly serveHttp?: boolean;
  /** Identify spacing per bucket; Discord's is 5000 ms. Tests against the simulator lower both. */
  readonly identifySpacingMs?: number;
  /** Node-to-node HTTP (tests cut it to simulate a partition). */
  readonly fetch?: typeof fetch;
  /** Cluster timings (tests shorten them). */
  readonly cluster?: { heartbeatMs?: number; reconcileMs?: number; tickMs?: number; settleMs?: number; maxConcurrentHandoffs?: number; maxConcurrentDrainMoves?: number };
  /** The query API's threads: how many, and how long past its time limit a query may run before it is abandoned (tests shorten it). */
  readonly queryThreads?: { maxConcurrent?: number; graceMs?: number; maxMemoryBytes?: number };
  /** The event-loop stall monitor: lateness counted as a stall (default 250 ms; tests that prove the loop never stops lower it). */
  readonly loopStall?: { thresholdMs?: number };
  /** Write funnel thresholds (tests force back-pressure with small ones). */
  readonly funnelTuning?: Partial<Pick<WriteFunnelOptions, 'flushThresholdRows' | 'highWaterRows' | 'retryBaseMs' | 'retryMaxMs'>>;
  /** The REST budget's tuning (tests: the node header, a short invalid-request window). */
  readonly rest?: RestBudgetSettings;
  /** Reshard tuning (tests shorten the burst timeout): see RunnerReshardTuning. */
  readonly reshard?: RunnerReshardTuning;
  /** Extra shard tuning (tests: short backoffs, no invalid-session wait). */
  readonly shardTuning?: Partial<Omit<ShardOptions, 'shardId' | 'shardCount' | 'token' | 'intents' | 'gatewayUrl' | 'transport' | 'identifyThrottler' | 'onDispatch'>>;
}

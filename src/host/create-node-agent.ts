import type { REST } from '@discordjs/rest';
import { intentsOf } from '../bot.ts';
import { ClusterIdentifyThrottler } from '../cluster/cluster-identify-throttler.ts';
import type { HeartbeatRequest, HeartbeatResponse } from '../cluster/cluster-protocol.ts';
import { NodeAgent } from '../cluster/node-agent.ts';
import type { Config } from '../config/load-config.ts';
import type { IdentifyDecision } from '../core/identify-budget.ts';
import type { Writer } from '../core/mutation.ts';
import type { Logger } from '../core/ports.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { createBotContext, type RunQuery } from './bot-context.ts';
import type { HostOptions } from './host-options.ts';
import { ShardRunner } from './shard-runner.ts';

/** What this node's agent and its shard runners are built from. */
export interface NodeAgentInputs {
  readonly config: Config;
  readonly options: Pick<HostOptions, 'bot' | 'shardTuning' | 'cluster' | 'runtime' | 'reshard'>;
  readonly version: string;
  readonly startedAt: number;
  readonly shardCount: number;
  readonly gatewayUrl: string;
  readonly rest: REST;
  readonly readDb: SqliteDriver;
  /** The bot's `sql` asks on each call: a handler still running as the host closes finds the database closed. */
  readonly botReadDb: () => SqliteDriver | null;
  /** The bot's `query`: off the event loop where the runtime has query processes. */
  readonly botRunQuery: RunQuery;
  readonly writer: Writer;
  readonly logger: Logger;
  /** Where other nodes reach this one; asked at each heartbeat. */
  url(): string;
  /** Both reach the primary: in-process while this node is primary, over HTTP otherwise. */
  heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse>;
  identify(shardId: number, generation: number): Promise<IdentifyDecision>;
  /** A runner came, went or changed status. */
  onProgress(): void;
  onShardReady(event: { shardId: number; resumed: boolean }): void;
}

/** The agent that runs this node's assigned shards, not started; every runner identifies through the primary's budget. */
export function createNodeAgent(inputs: NodeAgentInputs): NodeAgent {
  const { config, options } = inputs;
  const intents = (options.bot ? intentsOf(options.bot) : 0) | (config.intents ?? 0);
  // One per shard set: the ledger notes which set each IDENTIFY was for (a reshard's spend).
  const throttlers = new Map<number, ClusterIdentifyThrottler>();
  const throttler = (generation: number): ClusterIdentifyThrottler => {
    let found = throttlers.get(generation);
    if (!found) throttlers.set(generation, (found = new ClusterIdentifyThrottler((shardId) => inputs.identify(shardId, generation), inputs.logger)));
    return found;
  };
  const timing = options.cluster ?? {};
  return new NodeAgent({
    nodeId: config.nodeId,
    version: inputs.version,
    startedAt: inputs.startedAt,
    url: () => inputs.url(),
    readDb: inputs.readDb,
    shardCount: inputs.shardCount,
    writer: inputs.writer,
    logger: inputs.logger,
    heartbeat: (request) => inputs.heartbeat(request),
    onRunnersChanged: () => inputs.onProgress(),
    ...(timing.heartbeatMs !== undefined ? { heartbeatMs: timing.heartbeatMs } : {}),
    ...(timing.reconcileMs !== undefined ? { reconcileMs: timing.reconcileMs } : {}),
    createRunner: (shardId, epoch, set) => {
      const runner = new ShardRunner({
        shard: {
          ...options.shardTuning,
          shardId,
          shardCount: set?.shardCount ?? inputs.shardCount,
          token: config.token,
          intents,
          gatewayUrl: inputs.gatewayUrl,
          transport: options.runtime.transport,
          identifyThrottler: throttler(set?.generation ?? 0),
        },
        epoch,
        generation: set?.generation ?? 0,
        mode: set?.mode ?? 'live',
        ...(options.reshard ? { reshard: options.reshard } : {}),
        writer: inputs.writer,
        bot: options.bot,
        context: (r) => createBotContext(r, { rest: inputs.rest, logger: inputs.logger, readDb: inputs.botReadDb, runQuery: inputs.botRunQuery }),
        logger: inputs.logger,
      });
      runner.shard.on('status', () => inputs.onProgress());
      runner.shard.on('shardReady', (event) => inputs.onShardReady({ shardId: event.shardId, resumed: event.resumed }));
      return runner;
    },
  });
}

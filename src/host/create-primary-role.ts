import type { RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
import type { ClusterClient } from '../cluster/cluster-client.ts';
import type { NodeAgent } from '../cluster/node-agent.ts';
import { PrimaryRole } from '../cluster/primary-role.ts';
import type { Config } from '../config/load-config.ts';
import type { Logger } from '../core/ports.ts';
import type { SqliteDriverFactory } from '../core/sqlite.ts';
import type { GatewayFigures } from '../cluster/resharder.ts';
import type { HostOptions } from './host-options.ts';

/** What this node's primary role is built from, read when the node becomes primary. */
export interface PrimaryRoleInputs {
  readonly config: Config;
  readonly options: Pick<HostOptions, 'funnelTuning' | 'writeFunnel' | 'sqlite' | 'runtime' | 'identifySpacingMs' | 'cluster'>;
  readonly databasePath: string;
  readonly driverFactory: SqliteDriverFactory;
  readonly gateway: RESTGetAPIGatewayBotResult;
  readonly shardCount: number;
  /** Embedded (static leadership): no other node will join to share the shards, so they are placed at once. */
  readonly embedded: boolean;
  readonly logger: Logger;
  /** Looked up on each use: the agent starts after the role and is gone once the host stops. */
  agent(): NodeAgent | null;
  agentOrThrow(): NodeAgent;
  client(): ClusterClient;
  urlOf(nodeId: string): string;
  /** Fresh GET /gateway/bot for a reshard (recommended count, session start limit). */
  gatewayBot(): Promise<GatewayFigures>;
}

/** The primary's duties for this node, not started; its coordinator commands this node in-process and others over HTTP. */
export function createPrimaryRole(inputs: PrimaryRoleInputs): PrimaryRole {
  const { config, options, gateway } = inputs;
  return new PrimaryRole({
    nodeId: config.nodeId,
    databasePath: inputs.databasePath,
    driverFactory: inputs.driverFactory,
    flushIntervalMs: config.flushIntervalMs,
    ...(options.funnelTuning ? { funnelTuning: options.funnelTuning } : {}),
    // A custom driver (the simulated LiteFS) must see every write: a thread's connection would bypass it.
    ...((options.writeFunnel ?? config.writeFunnel) === 'thread' && !options.sqlite && options.runtime.transactionWorkers ? { transactionWorkers: options.runtime.transactionWorkers } : {}),
    identifySpacingMs: options.identifySpacingMs ?? 5_000,
    sessionStartLimit: {
      total: gateway.session_start_limit.total,
      remaining: gateway.session_start_limit.remaining,
      resetAfterMs: gateway.session_start_limit.reset_after,
      maxConcurrency: Math.max(1, gateway.session_start_limit.max_concurrency),
    },
    logger: inputs.logger,
    onStale: (shardId, epoch) => inputs.agent()?.fence(shardId, epoch),
    coordinator: {
      shardCount: inputs.shardCount,
      nodeTimeoutMs: config.nodeTimeoutMs,
      ...(options.cluster?.tickMs !== undefined ? { tickMs: options.cluster.tickMs } : {}),
      ...(options.cluster?.maxConcurrentHandoffs !== undefined ? { maxConcurrentHandoffs: options.cluster.maxConcurrentHandoffs } : {}),
      ...(options.cluster?.maxConcurrentDrainMoves !== undefined ? { maxConcurrentDrainMoves: options.cluster.maxConcurrentDrainMoves } : {}),
      settleMs: options.cluster?.settleMs ?? (inputs.embedded ? 0 : 1_500),
      onAssignmentsChanged: () => inputs.agent()?.reconcile(),
      reshard: {
        gatewayBot: () => inputs.gatewayBot(),
        settings: { shardMultiple: config.shardMultiple, threshold: config.reshardThreshold, checkMs: config.reshardCheckMs, on4011: config.reshardOn4011 },
        commands: {
          prepare: async (nodeId, request) => {
            if (nodeId === config.nodeId) inputs.agentOrThrow().prepareReshard(request.generation);
            else await inputs.client().reshardPrepare(inputs.urlOf(nodeId), request);
          },
          start: async (nodeId, { generation, shardCount, shardId, epoch, resume }) => {
            if (nodeId === config.nodeId) inputs.agentOrThrow().startShard(shardId, epoch, resume, { generation, shardCount });
            else await inputs.client().start(inputs.urlOf(nodeId), shardId, epoch, resume, { generation, shardCount });
          },
          retire: (nodeId, request) => (nodeId === config.nodeId ? inputs.agentOrThrow().retireShards(request) : inputs.client().reshardRetire(inputs.urlOf(nodeId), request)),
          takeOver: (nodeId, request) => (nodeId === config.nodeId ? inputs.agentOrThrow().takeOver(request) : inputs.client().reshardTakeOver(inputs.urlOf(nodeId), request)),
        },
      },
      commands: {
        detach: (nodeId, shardId, epoch) =>
          nodeId === config.nodeId ? inputs.agentOrThrow().detachShard(shardId, epoch) : inputs.client().detach(inputs.urlOf(nodeId), shardId, epoch),
        start: async (nodeId, shardId, epoch, resume) => {
          if (nodeId === config.nodeId) inputs.agentOrThrow().startShard(shardId, epoch, resume);
          else await inputs.client().start(inputs.urlOf(nodeId), shardId, epoch, resume);
        },
      },
    },
  });
}

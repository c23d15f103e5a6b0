import type { NodeAgent } from '../cluster/node-agent.ts';
import type { PrimaryRole } from '../cluster/primary-role.ts';
import type { Config } from '../config/load-config.ts';
import type { ControlOperations, PrimaryOperations } from '../control/control-operations.ts';
import { createControlApp, type ControlDeps } from '../control/create-control-app.ts';
import type { LeaseGrant, LeaseRequest } from '../cluster/rest-budget-protocol.ts';
import type { Logger } from '../core/ports.ts';
import type { HttpServerHandle, Runtime } from '../core/runtime.ts';

/** The node behind the HTTP API; the primary and agent are looked up per request, as both come and go. */
export interface ControlAppInputs {
  readonly config: Config;
  readonly serve: Runtime['serve'];
  readonly logger: Logger;
  readonly operations: ControlOperations & PrimaryOperations;
  readiness: ControlDeps['readiness'];
  status: ControlDeps['status'];
  query: ControlDeps['query'];
  runQueryJson: NonNullable<ControlDeps['runQueryJson']>;
  primaryOrThrow(what: string): PrimaryRole;
  agentOrThrow(): NodeAgent;
  /** POST /internal/rest/lease: this node's allocator while it is primary. */
  restLease(request: LeaseRequest): LeaseGrant;
}

/** Serves this node's HTTP API on config.httpHost:httpPort: admin routes, and the internal ones other nodes call. */
export async function serveControlApp(inputs: ControlAppInputs): Promise<HttpServerHandle> {
  const config = inputs.config;
  const app = createControlApp({
    adminToken: config.adminToken,
    clusterSecret: config.clusterSecret,
    logger: inputs.logger,
    readiness: () => inputs.readiness(),
    status: () => inputs.status(),
    query: (sql, params, limits) => inputs.query(sql, params, limits),
    runQueryJson: (sql, params, limits, signal) => inputs.runQueryJson(sql, params, limits, signal),
    internal: {
      heartbeat: (request) => inputs.primaryOrThrow('record heartbeats').coordinator.heartbeat(request),
      acceptWrites: (_nodeId, entries, options) => inputs.primaryOrThrow('accept forwarded writes').acceptWrites(entries, options),
      identify: (request) => inputs.primaryOrThrow('grant identify slots').identify(request),
      detach: (shardId, epoch) => inputs.agentOrThrow().detachShard(shardId, epoch),
      start: (shardId, epoch, resume, set) => inputs.agentOrThrow().startShard(shardId, epoch, resume, set),
      restLease: (request) => inputs.restLease(request),
      reshard: {
        prepare: (request) => inputs.agentOrThrow().prepareReshard(request.generation),
        retire: (request) => inputs.agentOrThrow().retireShards(request),
        takeOver: (request) => inputs.agentOrThrow().takeOver(request),
        start: (body) => inputs.primaryOrThrow('start a reshard').coordinator.resharder.start({ shardCount: body.shardCount, trigger: body.via }),
      },
    },
    operations: inputs.operations,
  });
  const http = await inputs.serve(app.fetch, { hostname: config.httpHost, port: config.httpPort });
  inputs.logger.info({ url: http.url }, 'HTTP API listening');
  return http;
}

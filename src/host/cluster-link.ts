import type { ClusterClient } from '../cluster/cluster-client.ts';
import type { HeartbeatRequest, HeartbeatResponse } from '../cluster/cluster-protocol.ts';
import { nodeUrl } from '../cluster/cluster-tables.ts';
import type { PrimaryRole } from '../cluster/primary-role.ts';
import type { Config } from '../config/load-config.ts';
import { ShardlineError } from '../core/errors.ts';
import type { IdentifyDecision } from '../core/identify-budget.ts';
import type { Leadership } from '../core/leadership.ts';
import type { SqliteDriver } from '../core/sqlite.ts';

export interface ClusterLinkInputs {
  readonly config: Pick<Config, 'nodeId' | 'advertiseUrl' | 'httpHost' | 'httpPort'>;
  readonly leadership: Leadership;
  /** Null without a cluster secret: such a node can call no other. */
  readonly client: ClusterClient | null;
  /** Asked on each call: the role comes and goes with the lease, the database with start and stop. */
  primary(): PrimaryRole | null;
  readDb(): SqliteDriver | null;
  /** The HTTP API's own URL once it listens (port 0 is known only then). */
  httpUrl(): string | null;
}

/**
 * How one node reaches the primary and its peers: in-process while it holds the lease, so the
 * primary never calls itself over HTTP, and otherwise at the URL its replica (or, on the
 * primary, its coordinator) knows, with the cluster secret.
 */
export class ClusterLink {
  readonly #i: ClusterLinkInputs;
  /** The node a leaving primary just handed the lease to, until this node's LiteFS names a primary itself. */
  #successor: string | null = null;

  constructor(inputs: ClusterLinkInputs) {
    this.#i = inputs;
  }

  /** Where other nodes reach this one. */
  advertiseUrl(): string {
    const config = this.#i.config;
    return config.advertiseUrl ?? this.#i.httpUrl() ?? `http://${config.httpHost}:${config.httpPort}`;
  }

  primaryUrl(): string | null {
    const state = this.#i.leadership.current();
    if (state.isPrimary) return this.advertiseUrl();
    const db = this.#i.readDb();
    const primary = state.primary ?? this.#successor;
    if (!primary || !db) return null;
    return nodeUrl(db, primary);
  }

  /**
   * A leaving primary handed the lease to `nodeId`, whose coordinator runs. Its own LiteFS takes
   * a reconnect delay to find the new primary; meanwhile writes and heartbeats go to the node
   * that took over (which accepts them only while it is primary, so the hint is never trusted
   * for anything the receiver does not check itself). LiteFS's own answer wins once it has one.
   */
  followSuccessor(nodeId: string): void {
    this.#successor = nodeId;
  }

  urlOf(nodeId: string): string {
    const db = this.#i.readDb();
    const url = this.#i.primary()?.coordinator.nodeUrl(nodeId) ?? (db ? nodeUrl(db, nodeId) : null);
    if (!url) throw new ShardlineError('NOT_FOUND', `No URL known for node ${nodeId}`);
    return url;
  }

  primaryOrThrow(what: string): PrimaryRole {
    const role = this.#i.primary();
    if (role) return role;
    const primary = this.#i.leadership.current().primary;
    throw new ShardlineError('NOT_PRIMARY', `Cannot ${what}: this node is not the primary${primary ? `; the primary is ${primary}` : '; no primary is known'}`, {
      details: { primary },
    });
  }

  clientOrThrow(): ClusterClient {
    if (!this.#i.client) throw new ShardlineError('INVALID_CONFIG', 'SHARDLINE_CLUSTER_SECRET is not set, so this node cannot talk to other nodes');
    return this.#i.client;
  }

  heartbeat(request: HeartbeatRequest): Promise<HeartbeatResponse> {
    const role = this.#i.primary();
    if (role) return Promise.resolve(role.coordinator.heartbeat(request));
    const url = this.primaryUrl();
    if (!url) return Promise.reject(new ShardlineError('NO_PRIMARY', 'No primary is known yet'));
    return this.clientOrThrow().heartbeat(url, request);
  }

  identify(shardId: number, generation?: number): Promise<IdentifyDecision> {
    const request = { nodeId: this.#i.config.nodeId, shardId, ...(generation === undefined ? {} : { generation }) };
    const role = this.#i.primary();
    if (role) return role.identify(request);
    const url = this.primaryUrl();
    if (!url) return Promise.reject(new ShardlineError('NO_PRIMARY', 'No primary is known: identifies wait (contract 8)'));
    return this.clientOrThrow().identify(url, request);
  }
}

import type { REST } from '@discordjs/rest';
import { readNodes } from '../cluster/cluster-tables.ts';
import type { PrimaryRole } from '../cluster/primary-role.ts';
import { RestBudgetAllocator, type RestBudgetSnapshot, type RestBudgetTiming } from '../cluster/rest-budget-allocator.ts';
import { RestBudgetClient, type RestBudgetStatus } from '../cluster/rest-budget-client.ts';
import type { LeaseGrant, LeaseRequest } from '../cluster/rest-budget-protocol.ts';
import type { Config } from '../config/load-config.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Leadership } from '../core/leadership.ts';
import type { Logger } from '../core/ports.ts';
import { GLOBAL_WINDOW_MS } from '../core/rest-budget.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { createBudgetedRest } from './budgeted-rest.ts';
import type { ClusterLink } from './cluster-link.ts';

/** Host settings of the REST budget (tests shorten some). */
export interface RestBudgetSettings {
  /**
   * Added to Discord's one second for which every request holds its slot after its answer
   * (the rounding of Discord's millisecond clock; network delays are covered by counting from the decision). Default 2 ms.
   */
  readonly windowMarginMs?: number;
  /** Discord's is 10 minutes; a test may count over less. */
  readonly invalidWindowMs?: number;
  /** Send `X-Shardline-Node: <node id>` with every request (the simulator counts per node by it). Default false. */
  readonly nodeHeader?: boolean;
  /** One attempt's network timeout. Default 15 s. */
  readonly requestTimeoutMs?: number;
  /**
   * How long a node that gets no grant keeps spending its fallback share before it stops (the
   * primary keeps that much aside for a silent node until then). Default twice the node timeout.
   */
  readonly fallbackMs?: number;
}

export interface RestBudgetHostInputs {
  readonly config: Pick<Config, 'nodeId' | 'apiUrl' | 'token' | 'nodeTimeoutMs' | 'restGlobalLimit' | 'restInvalidLimit'>;
  readonly settings: RestBudgetSettings;
  readonly leaseIntervalMs: number;
  readonly leadership: Leadership;
  readonly link: Pick<ClusterLink, 'primaryUrl' | 'clientOrThrow'>;
  readonly logger: Logger;
  /** This node's primary duties while it holds the lease. */
  primary(): PrimaryRole | null;
  readDb(): SqliteDriver | null;
}

/** What GET /status shows of the REST budget. */
export interface RestBudgetView {
  /** This node: its share, what it sent, what waits, its invalid count against the cluster's. */
  readonly node: RestBudgetStatus;
  /** The primary's allocation of every node; null on a replica. */
  readonly cluster: RestBudgetSnapshot | null;
}

/** Whether a failed call never reached a process (its port refused the connection). */
export function connectionRefused(error: unknown): boolean {
  const seen = new Set<unknown>();
  const stack: unknown[] = [error];
  while (stack.length > 0) {
    const e = stack.pop();
    if (typeof e !== 'object' || e === null || seen.has(e)) continue;
    seen.add(e);
    if ((e as { code?: unknown }).code === 'ECONNREFUSED') return true;
    stack.push((e as { cause?: unknown }).cause);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) stack.push(...errors);
  }
  return false;
}

/**
 * The REST budget on one node: `ctx.rest`, the client that spends this node's share, and,
 * while this node is primary, the allocator every node asks (one per primary term, so a
 * takeover starts from what the nodes report rather than from a stale table).
 */
export class RestBudgetHost {
  readonly client: RestBudgetClient;
  readonly rest: REST;
  readonly #i: RestBudgetHostInputs;
  readonly #timing: RestBudgetTiming;
  readonly #allocators = new WeakMap<PrimaryRole, RestBudgetAllocator>();
  #unsubscribe: (() => void) | null = null;

  constructor(inputs: RestBudgetHostInputs) {
    this.#i = inputs;
    const { config, settings } = inputs;
    // Five intervals: a lease request late by a busy event loop does not drop the node to its fallback.
    const ttlMs = inputs.leaseIntervalMs * 5;
    this.#timing = {
      limit: config.restGlobalLimit,
      ttlMs,
      windowMs: GLOBAL_WINDOW_MS + (settings.windowMarginMs ?? 2),
      fallbackMs: settings.fallbackMs ?? Math.max(2 * config.nodeTimeoutMs, ttlMs),
      invalidLimit: config.restInvalidLimit,
      invalidWindowMs: settings.invalidWindowMs ?? 600_000,
    };
    this.client = new RestBudgetClient({
      nodeId: config.nodeId,
      limit: this.#timing.limit,
      windowMs: this.#timing.windowMs,
      leaseIntervalMs: inputs.leaseIntervalMs,
      fallbackMs: this.#timing.fallbackMs,
      invalidLimit: this.#timing.invalidLimit,
      invalidWindowMs: this.#timing.invalidWindowMs,
      logger: inputs.logger,
      lease: (request) => this.#lease(request),
      primaryNow: () => inputs.leadership.current().primary,
    });
    this.rest = createBudgetedRest({
      apiUrl: config.apiUrl,
      token: config.token,
      budget: this.client,
      ...(settings.nodeHeader ? { nodeHeader: config.nodeId } : {}),
      ...(settings.requestTimeoutMs !== undefined ? { requestTimeoutMs: settings.requestTimeoutMs } : {}),
    });
  }

  start(): void {
    this.client.start();
    this.#unsubscribe = this.#i.leadership.subscribe(() => this.client.leadershipChanged());
  }

  close(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.client.close();
    this.rest.clearHashSweeper();
    this.rest.clearHandlerSweeper();
  }

  /** POST /internal/rest/lease, on the primary. */
  lease(request: LeaseRequest): LeaseGrant {
    const role = this.#i.primary();
    if (!role) {
      const primary = this.#i.leadership.current().primary;
      throw new ShardlineError('NOT_PRIMARY', `Cannot grant REST budget: this node is not the primary${primary ? `; the primary is ${primary}` : ''}`, { details: { primary } });
    }
    return this.#allocator(role).lease(request, Date.now());
  }

  status(): RestBudgetView {
    const role = this.#i.primary();
    return { node: this.client.status(), cluster: role ? this.#allocator(role).snapshot(Date.now()) : null };
  }

  async #lease(request: LeaseRequest): Promise<LeaseGrant> {
    if (this.#i.primary()) return this.lease(request);
    const primary = this.#i.leadership.current().primary;
    const url = this.#i.link.primaryUrl();
    if (!primary || !url) throw new ShardlineError('NO_PRIMARY', 'No primary is known: REST spends the last lease, then its fallback');
    try {
      return await this.#i.link.clientOrThrow().call<LeaseGrant>(url, '/internal/rest/lease', request, Math.max(1_000, this.#timing.ttlMs));
    } catch (error) {
      if (!connectionRefused(error)) throw error;
      throw new ShardlineError('GATEWAY_UNAVAILABLE', `The primary ${primary} refused the connection at ${url}: its process is gone`, { cause: error, details: { refused: true, primary } });
    }
  }

  #allocator(role: PrimaryRole): RestBudgetAllocator {
    let allocator = this.#allocators.get(role);
    if (!allocator) {
      const db = this.#i.readDb();
      allocator = new RestBudgetAllocator({
        ...this.#timing,
        nodeId: this.#i.config.nodeId,
        knownNodes: db ? readNodes(db).map((n) => ({ id: n.id, lastHeartbeatAt: n.lastHeartbeatAt })) : [],
        formerPrimary: this.client.lastPrimary,
        now: Date.now(),
      });
      this.#allocators.set(role, allocator);
    }
    return allocator;
  }
}

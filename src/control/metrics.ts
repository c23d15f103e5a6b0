import { Counter, Gauge, Registry } from 'prom-client';
import type { ReshardView } from '../cluster/reshard-view.ts';

/** What a scrape reads from the node: snapshots only, so nothing on the hot path changes. */
export interface MetricsSnapshot {
  readonly role: 'primary' | 'replica' | 'unknown';
  readonly shards: readonly {
    readonly shardId: number;
    readonly status: string;
    readonly events: number;
    readonly eventsByType: Readonly<Record<string, number>>;
    readonly identifies: number;
    readonly resumes: number;
    readonly reconnects: number;
    readonly heartbeatMs: number | null;
  }[];
  readonly funnel: {
    readonly queuedEntries: number;
    readonly queuedRows: number;
    readonly transactions: number;
    readonly committedRows: number;
    readonly totalFlushMs: number;
    readonly maxBatchMutations: number;
    readonly failedTransactions: number;
    readonly lastBatch: { readonly mutations: number; readonly durationMs: number } | null;
    readonly threadHeapBytes?: number | null;
    readonly threadRestarts?: number;
  } | null;
  readonly forwarder: { readonly queuedEntries: number; readonly failures: number } | null;
  /** POST /query's threads; absent or null where queries run on the event loop. */
  readonly queries?: QueryPoolSnapshot | null;
  /** ctx.query()'s threads, the same way. */
  readonly botQueries?: QueryPoolSnapshot | null;
  /** Times the event loop was blocked (see src/host/loop-stall-monitor.ts). */
  readonly eventLoop?: { readonly stalls: number; readonly stalledMs: number; readonly maxStallMs: number };
  readonly identify: { readonly total: number; readonly remaining: number; readonly granted: number; readonly reserve: number } | null;
  /** This node's graceful leave while it runs (contract 11); absent or null otherwise. */
  readonly leave?: { readonly startedAt: number; readonly phase: string; readonly shards: number; readonly remaining: number } | null;
  /** Moves the coordinator completed, by reason (primary only). */
  readonly moves?: Readonly<Record<string, number>> | null;
  /** The REST budget (src/host/rest-budget-host.ts); `cluster` on the primary only. */
  readonly rest?: RestMetricsSnapshot | null;
  /** The active shard set and the running (or last) reshard (contract 13). */
  readonly shardSet?: { readonly generation: number; readonly shardCount: number };
  readonly reshard?: ReshardView | null;
}

export interface RestMetricsSnapshot {
  readonly node: {
    readonly limit: number;
    readonly share: number;
    readonly sent: number;
    readonly waiting: number;
    readonly rateLimited: Readonly<Record<'global' | 'user' | 'shared' | 'sublimit', number>>;
    readonly invalid: { readonly local: number; readonly cluster: number; readonly limit: number; readonly throttleAt: number; readonly stopAt: number };
    readonly buckets: { readonly contended: number; readonly blocked: number; readonly waits: number };
  };
  readonly cluster: { readonly nodes: readonly { readonly id: string; readonly share: number; readonly committed: number; readonly demand: number; readonly sent: number; readonly rateLimited: Readonly<Record<'global' | 'user' | 'shared' | 'sublimit', number>> }[] } | null;
}

export interface QueryPoolSnapshot {
  readonly running: number;
  readonly abandoned: number;
  readonly abandonedTotal: number;
}

export interface ControlMetrics {
  readonly contentType: string;
  /** Prometheus text for this snapshot. */
  render(snapshot: MetricsSnapshot): Promise<string>;
}

/**
 * One Registry per control app (never prom-client's global one). Runner and funnel counters
 * are totals kept by their owners, so each scrape resets the metric and sets the snapshot's
 * value; a shard that moves away stops being reported here (Prometheus sees a counter reset
 * when it comes back, which rate() handles).
 */
export function createControlMetrics(): ControlMetrics {
  const registry = new Registry();
  const registers = [registry];
  const role = new Gauge({ name: 'shardline_role', help: '1 for the role this node has (primary, replica or unknown)', labelNames: ['role'], registers });
  const events = new Counter({ name: 'shardline_shard_events_total', help: 'Gateway dispatches handled per shard and event type on this node', labelNames: ['shard', 'type'], registers });
  const sessions = new Counter({ name: 'shardline_shard_sessions_total', help: 'Sessions started on this node per shard, by identify or resume', labelNames: ['shard', 'kind'], registers });
  const reconnects = new Counter({ name: 'shardline_shard_reconnects_total', help: 'Gateway sockets closed by Discord or the network per shard', labelNames: ['shard'], registers });
  const heartbeat = new Gauge({ name: 'shardline_shard_heartbeat_latency_seconds', help: 'Last gateway heartbeat round trip per shard', labelNames: ['shard'], registers });
  const ready = new Gauge({ name: 'shardline_shard_ready', help: '1 when the shard is ready, 0 otherwise', labelNames: ['shard', 'status'], registers });
  const queueEntries = new Gauge({ name: 'shardline_funnel_queue_entries', help: 'Entries waiting in the write funnel (primary only)', registers });
  const queueRows = new Gauge({ name: 'shardline_funnel_queue_rows', help: 'Mutations waiting in the write funnel (primary only)', registers });
  const transactions = new Counter({ name: 'shardline_funnel_transactions_total', help: 'Write funnel transactions committed', registers });
  const failedTransactions = new Counter({ name: 'shardline_funnel_failed_transactions_total', help: 'Write funnel transactions that failed and were retried', registers });
  const committedRows = new Counter({ name: 'shardline_funnel_committed_rows_total', help: 'Rows the write funnel committed', registers });
  const flushSeconds = new Counter({ name: 'shardline_funnel_transaction_seconds_total', help: 'Time spent in write funnel transactions', registers });
  const lastBatch = new Gauge({ name: 'shardline_funnel_last_batch_mutations', help: 'Mutations in the last write funnel transaction', registers });
  const lastFlush = new Gauge({ name: 'shardline_funnel_last_transaction_seconds', help: 'Duration of the last write funnel transaction', registers });
  const maxBatch = new Gauge({ name: 'shardline_funnel_max_batch_mutations', help: 'Largest write funnel transaction so far, in mutations', registers });
  const threadHeap = new Gauge({ name: 'shardline_funnel_thread_heap_bytes', help: "JS heap in use on the write funnel's transaction thread, sampled when it idles", registers });
  const threadRestarts = new Counter({ name: 'shardline_funnel_thread_restarts_total', help: 'Transaction threads started again after one died', registers });
  const forwardQueue = new Gauge({ name: 'shardline_forwarder_queue_entries', help: 'Entries waiting to be forwarded to the primary', registers });
  const forwardFailures = new Counter({ name: 'shardline_forwarder_failures_total', help: 'Forwarded batches the primary did not accept', registers });
  // pool="api" is POST /query, pool="bot" is ctx.query(): two sets of query threads.
  const queriesRunning = new Gauge({ name: 'shardline_query_running', help: 'Statements running on query threads, by pool (api: POST /query, bot: ctx.query())', labelNames: ['pool'], registers });
  const queriesAbandoned = new Gauge({ name: 'shardline_query_abandoned', help: 'Query threads stopped past their time limit and still inside a SQLite step (each can hold a core), by pool', labelNames: ['pool'], registers });
  const queriesAbandonedTotal = new Counter({ name: 'shardline_query_abandoned_total', help: 'Queries abandoned past their time limit inside a SQLite step, by pool', labelNames: ['pool'], registers });
  const loopStalls = new Counter({ name: 'shardline_event_loop_stalls_total', help: 'Times the event loop was blocked for 250 ms or more (no shard read or heartbeat meanwhile)', registers });
  const loopStalled = new Counter({ name: 'shardline_event_loop_stalled_seconds_total', help: 'Time the event loop spent in those stalls', registers });
  const loopMaxStall = new Gauge({ name: 'shardline_event_loop_max_stall_seconds', help: 'Longest event loop stall since the node started', registers });
  const identifyRemaining = new Gauge({ name: 'shardline_identify_remaining', help: 'Session starts left in the daily budget (primary only)', registers });
  const identifyTotal = new Gauge({ name: 'shardline_identify_total', help: 'Daily session start limit (primary only)', registers });
  const identifyReserve = new Gauge({ name: 'shardline_identify_reserve', help: 'Session starts kept in reserve (primary only)', registers });
  const identifyGranted = new Counter({ name: 'shardline_identify_granted_total', help: 'Identify slots granted by this primary', registers });
  const leaving = new Gauge({ name: 'shardline_leaving', help: '1 while this node leaves the cluster after SIGINT/SIGTERM, by phase (lease, drain, stopping)', labelNames: ['phase'], registers });
  const leaveSeconds = new Gauge({ name: 'shardline_leave_elapsed_seconds', help: 'Time since this node began to leave', registers });
  const leaveRemaining = new Gauge({ name: 'shardline_leave_shards_remaining', help: 'Shards still running on this leaving node', registers });
  const moves = new Counter({ name: 'shardline_shard_moves_total', help: 'Shards this primary moved by resume, by reason (rebalance, drain, leave, manual)', labelNames: ['reason'], registers });
  const restSent = new Counter({ name: 'shardline_rest_requests_total', help: 'REST requests this node sent to Discord (each counts toward the global limit)', registers });
  const restLimited = new Counter({ name: 'shardline_rest_rate_limited_total', help: '429 answers this node got, by scope (global, user, shared, sublimit)', labelNames: ['scope'], registers });
  const restLimit = new Gauge({ name: 'shardline_rest_global_limit', help: "The token's global REST limit per second, shared by the cluster", registers });
  const restShare = new Gauge({ name: 'shardline_rest_share', help: "This node's share of the global limit per window now", registers });
  const restWaiting = new Gauge({ name: 'shardline_rest_waiting_requests', help: 'Requests waiting on this node for a slot in its share', registers });
  const restInvalid = new Gauge({ name: 'shardline_rest_invalid_requests', help: 'Invalid REST answers (401, 403, non-shared 429) in the ban window, this node and the whole cluster', labelNames: ['scope'], registers });
  const restInvalidLimit = new Gauge({ name: 'shardline_rest_invalid_limit', help: 'Invalid answers in the window that get the IP banned; throttle and stop are where the cluster slows and halts REST', labelNames: ['threshold'], registers });
  const restBuckets = new Gauge({ name: 'shardline_rest_buckets', help: 'Route buckets split between nodes (contended) or spent by another node (blocked)', labelNames: ['state'], registers });
  const restNodeShare = new Gauge({ name: 'shardline_rest_node_share', help: "Each node's share of the global limit (primary only)", labelNames: ['node'], registers });
  const restNodeDemand = new Gauge({ name: 'shardline_rest_node_demand', help: 'Requests per second each node would send (primary only)', labelNames: ['node'], registers });
  const restNodeSent = new Counter({ name: 'shardline_rest_node_requests_total', help: 'REST requests each node reported sent (primary only)', labelNames: ['node'], registers });
  const restNodeLimited = new Counter({ name: 'shardline_rest_node_rate_limited_total', help: '429 answers each node reported, by scope (primary only)', labelNames: ['node', 'scope'], registers });
  const setGeneration = new Gauge({ name: 'shardline_shard_set_generation', help: 'Generation of the active shard set (grows with every reshard)', registers });
  const setShards = new Gauge({ name: 'shardline_shard_set_shards', help: 'Shard count of the active shard set', registers });
  const reshardRunning = new Gauge({ name: 'shardline_reshard_running', help: '1 while a reshard runs (a new shard set beside the active one)', registers });
  const reshardTarget = new Gauge({ name: 'shardline_reshard_target_shards', help: 'Shard count of the running reshard\'s new set', registers });
  const reshardGroups = new Gauge({ name: 'shardline_reshard_groups', help: 'Switch groups of the running reshard, by whether their handlers moved to the new set', labelNames: ['switched'], registers });
  const reshardReady = new Gauge({ name: 'shardline_reshard_new_shards_ready', help: 'New-set shards ready and past their GUILD_CREATE burst', registers });
  const reshardIdentifies = new Gauge({ name: 'shardline_reshard_identifies', help: 'IDENTIFYs the running (or last) reshard\'s new set has taken', registers });

  // Scrapes run one at a time: a reset between another scrape's set and read would blank it.
  let last: Promise<unknown> = Promise.resolve();
  const render = (s: MetricsSnapshot): Promise<string> => {
    const next = last.catch(() => {}).then(() => fill(s));
    last = next;
    return next;
  };
  const fill = async (s: MetricsSnapshot): Promise<string> => {
    registry.resetMetrics();
    for (const name of ['primary', 'replica', 'unknown'] as const) role.set({ role: name }, s.role === name ? 1 : 0);
    for (const shard of s.shards) {
      const label = String(shard.shardId);
      for (const [type, n] of Object.entries(shard.eventsByType)) events.inc({ shard: label, type }, n);
      sessions.inc({ shard: label, kind: 'identify' }, shard.identifies);
      sessions.inc({ shard: label, kind: 'resume' }, shard.resumes);
      reconnects.inc({ shard: label }, shard.reconnects);
      if (shard.heartbeatMs !== null) heartbeat.set({ shard: label }, shard.heartbeatMs / 1000);
      ready.set({ shard: label, status: shard.status }, shard.status === 'ready' ? 1 : 0);
    }
    const f = s.funnel;
    if (f) {
      queueEntries.set(f.queuedEntries);
      queueRows.set(f.queuedRows);
      transactions.inc(f.transactions);
      failedTransactions.inc(f.failedTransactions);
      committedRows.inc(f.committedRows);
      flushSeconds.inc(f.totalFlushMs / 1000);
      maxBatch.set(f.maxBatchMutations);
      if (f.threadHeapBytes !== undefined && f.threadHeapBytes !== null) threadHeap.set(f.threadHeapBytes);
      if (f.threadRestarts !== undefined) threadRestarts.inc(f.threadRestarts);
      if (f.lastBatch) {
        lastBatch.set(f.lastBatch.mutations);
        lastFlush.set(f.lastBatch.durationMs / 1000);
      }
    }
    if (s.forwarder) {
      forwardQueue.set(s.forwarder.queuedEntries);
      forwardFailures.inc(s.forwarder.failures);
    }
    for (const [pool, q] of [['api', s.queries], ['bot', s.botQueries]] as const) {
      if (!q) continue;
      queriesRunning.set({ pool }, q.running);
      queriesAbandoned.set({ pool }, q.abandoned);
      queriesAbandonedTotal.inc({ pool }, q.abandonedTotal);
    }
    if (s.eventLoop) {
      loopStalls.inc(s.eventLoop.stalls);
      loopStalled.inc(s.eventLoop.stalledMs / 1000);
      loopMaxStall.set(s.eventLoop.maxStallMs / 1000);
    }
    if (s.identify) {
      identifyRemaining.set(s.identify.remaining);
      identifyTotal.set(s.identify.total);
      identifyReserve.set(s.identify.reserve);
      identifyGranted.inc(s.identify.granted);
    }
    if (s.leave) {
      leaving.set({ phase: s.leave.phase }, 1);
      leaveSeconds.set(Math.max(0, Date.now() - s.leave.startedAt) / 1000);
      leaveRemaining.set(s.leave.remaining);
    }
    for (const [reason, n] of Object.entries(s.moves ?? {})) moves.inc({ reason }, n);
    const rest = s.rest;
    if (rest) {
      const n = rest.node;
      restSent.inc(n.sent);
      for (const [scope, count] of Object.entries(n.rateLimited)) restLimited.inc({ scope }, count);
      restLimit.set(n.limit);
      restShare.set(n.share);
      restWaiting.set(n.waiting);
      restInvalid.set({ scope: 'node' }, n.invalid.local);
      restInvalid.set({ scope: 'cluster' }, n.invalid.cluster);
      restInvalidLimit.set({ threshold: 'ban' }, n.invalid.limit);
      restInvalidLimit.set({ threshold: 'throttle' }, n.invalid.throttleAt);
      restInvalidLimit.set({ threshold: 'stop' }, n.invalid.stopAt);
      restBuckets.set({ state: 'contended' }, n.buckets.contended);
      restBuckets.set({ state: 'blocked' }, n.buckets.blocked);
      for (const node of rest.cluster?.nodes ?? []) {
        restNodeShare.set({ node: node.id }, node.share);
        restNodeDemand.set({ node: node.id }, node.demand);
        restNodeSent.inc({ node: node.id }, node.sent);
        for (const [scope, count] of Object.entries(node.rateLimited)) restNodeLimited.inc({ node: node.id, scope }, count);
      }
    }
    if (s.shardSet) {
      setGeneration.set(s.shardSet.generation);
      setShards.set(s.shardSet.shardCount);
    }
    const r = s.reshard;
    const running = r !== null && r !== undefined && (r.phase === 'identifying' || r.phase === 'switching');
    reshardRunning.set(running ? 1 : 0);
    if (r) reshardIdentifies.set(r.identifies);
    if (r && running) {
      reshardTarget.set(r.to);
      reshardGroups.set({ switched: 'true' }, r.groups.filter((g) => g.switched).length);
      reshardGroups.set({ switched: 'false' }, r.groups.filter((g) => !g.switched).length);
      reshardReady.set(r.shards.filter((x) => x.status === 'ready' && x.caughtUp === true).length);
    }
    return registry.metrics();
  };
  return { contentType: registry.contentType, render };
}

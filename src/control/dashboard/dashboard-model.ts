import type { ClusterEventRow } from '../../cluster/cluster-tables.ts';
import type { IdentifyBudgetSnapshot } from '../../core/identify-budget.ts';
import type { HostStatus } from '../../host/host-status.ts';
import { restView, type RestView } from './dashboard-rest.ts';
import type { ReshardView } from '../../cluster/reshard-view.ts';

/** A node is flagged once its last recorded heartbeat is older than this. */
export const HEARTBEAT_LATE_MS = 3_000;

export interface ShardView {
  readonly shardId: number;
  readonly nodeId: string | null;
  /** The assignment's state, or the live gateway status when this node runs the shard. */
  readonly state: string;
  readonly epoch: number | null;
  /** Live on the node that runs it; the last committed one elsewhere. */
  readonly seq: number | null;
  /** Since READY/RESUMED (known on the node that runs it), else since the last commit. */
  readonly sessionAgeMs: number | null;
  readonly sessionAgeKind: 'session' | 'last commit' | null;
  readonly local: boolean;
}

export interface NodeView {
  readonly id: string;
  readonly url: string | null;
  readonly isPrimary: boolean;
  readonly isSelf: boolean;
  readonly heartbeatAgeMs: number | null;
  readonly late: boolean;
  readonly draining: boolean;
  readonly version: string | null;
  readonly shards: readonly ShardView[];
}

export interface EventView {
  readonly id: number;
  readonly at: number;
  readonly kind: string;
  readonly text: string;
}

export interface DashboardModel {
  readonly now: number;
  readonly self: HostStatus['node'];
  readonly shardCount: number;
  readonly nodes: readonly NodeView[];
  readonly unassigned: readonly ShardView[];
  readonly identify: IdentifyBudgetSnapshot | null;
  readonly funnel: { readonly queuedRows: number; readonly transactions: number } | null;
  /** This node's event-loop stalls; `recent` while the last one ended under a minute ago. */
  readonly eventLoop: { readonly stalls: number; readonly maxStallMs: number; readonly lastStallAgoMs: number | null; readonly recent: boolean } | null;
  readonly events: readonly EventView[];
  /** The REST budget (dashboard-rest.ts); null on a node that reports none. */
  readonly rest: RestView | null;
  /** The running reshard (both sets, the switch, identifies spent) or the last one; null if none ever ran. */
  readonly reshard: ReshardView | null;
}

/** A committed session per shard, from the replicated shard_sessions table. */
export interface CommittedSession {
  readonly shardId: number;
  readonly seq: number;
  readonly updatedAt: number;
}

/**
 * Builds what the page shows from one node's status. `status` comes through the control
 * deps as `unknown`; anything that does not look like a host status yields null, and the
 * page says so instead of throwing.
 */
export function toDashboardModel(status: unknown, sessions: readonly CommittedSession[], now: number): DashboardModel | null {
  if (!isHostStatus(status)) return null;
  const committed = new Map(sessions.map((s) => [s.shardId, s]));
  const local = new Map(status.shards.map((s) => [s.shardId, s]));
  const assignments = new Map(status.assignments.map((a) => [a.shardId, a]));

  const shardView = (shardId: number): ShardView => {
    const assignment = assignments.get(shardId);
    const nodeId = assignment?.nodeId ?? null;
    const runner = nodeId === status.node.id ? local.get(shardId) : undefined;
    const session = committed.get(shardId);
    if (runner) {
      return {
        shardId,
        nodeId,
        state: runner.status,
        epoch: assignment?.epoch ?? runner.epoch,
        seq: runner.seq ?? session?.seq ?? null,
        sessionAgeMs: runner.readySince === null ? null : Math.max(0, now - runner.readySince),
        sessionAgeKind: runner.readySince === null ? null : 'session',
        local: true,
      };
    }
    return {
      shardId,
      nodeId,
      state: assignment?.state ?? 'unassigned',
      epoch: assignment?.epoch ?? null,
      seq: session?.seq ?? null,
      sessionAgeMs: session ? Math.max(0, now - session.updatedAt) : null,
      sessionAgeKind: session ? 'last commit' : null,
      local: false,
    };
  };

  const shardIds = new Set<number>(Array.from({ length: status.shardCount }, (_, i) => i));
  for (const id of assignments.keys()) shardIds.add(id);
  const shards = [...shardIds].sort((a, b) => a - b).map(shardView);

  const nodeIds = new Set<string>([status.node.id, ...status.nodes.map((n) => n.id)]);
  for (const shard of shards) if (shard.nodeId) nodeIds.add(shard.nodeId);
  const rows = new Map(status.nodes.map((n) => [n.id, n]));
  const nodes = [...nodeIds].sort().map((id): NodeView => {
    const row = rows.get(id);
    const heartbeatAgeMs = row ? Math.max(0, now - row.lastHeartbeatAt) : null;
    return {
      id,
      url: row?.url ?? (id === status.node.id ? status.node.url : null),
      isPrimary: id === status.node.primary || (id === status.node.id && status.node.role === 'primary'),
      isSelf: id === status.node.id,
      heartbeatAgeMs,
      late: heartbeatAgeMs !== null && heartbeatAgeMs > HEARTBEAT_LATE_MS,
      draining: row?.draining ?? false,
      version: row?.version ?? null,
      shards: shards.filter((s) => s.nodeId === id),
    };
  });

  return {
    now,
    self: status.node,
    shardCount: status.shardCount,
    nodes,
    // Old shards whose range switched to a reshard's new set are not missing an owner.
    unassigned: shards.filter((s) => s.nodeId === null && s.state !== 'retired'),
    identify: status.identify,
    funnel: status.funnel ? { queuedRows: status.funnel.queuedRows, transactions: status.funnel.transactions } : null,
    eventLoop: eventLoopView(status.eventLoop, now),
    events: status.events.map((e) => ({ id: e.id, at: e.at, kind: e.kind, text: describeEvent(e) })),
    rest: restView(status.rest),
    reshard: status.reshard ?? null,
  };
}

const RECENT_STALL_MS = 60_000;

function eventLoopView(loop: HostStatus['eventLoop'] | undefined, now: number): DashboardModel['eventLoop'] {
  if (!loop) return null;
  const lastStallAgoMs = loop.lastStallAt === null ? null : Math.max(0, now - loop.lastStallAt);
  return { stalls: loop.stalls, maxStallMs: loop.maxStallMs, lastStallAgoMs, recent: lastStallAgoMs !== null && lastStallAgoMs < RECENT_STALL_MS };
}

/** One line per cluster event, in words a person reads during an incident. */
export function describeEvent(event: ClusterEventRow): string {
  const d = event.detail;
  const node = event.nodeId ?? 'a node';
  const shard = `shard ${event.shardId ?? '?'}`;
  const str = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '?');
  switch (event.kind) {
    case 'takeover':
      return `${node} became the primary and took over coordination`;
    case 'join':
      return `${node} joined the cluster`;
    case 'rejoin':
      return `${node} is back after being declared dead`;
    case 'dead':
      return `${node} declared dead: silent for ${typeof d['silentMs'] === 'number' ? formatAge(d['silentMs']) : 'too long'}`;
    case 'place':
      return `${shard} placed on ${node} (epoch ${str(d['epoch'])})`;
    case 'failover':
      return `${shard} failed over ${d['from'] ? `from ${str(d['from'])} ` : ''}to ${node} (epoch ${str(d['epoch'])})`;
    case 'move':
      return `${shard} moved ${str(d['from'])} → ${str(d['to'] ?? event.nodeId)} by resume at seq ${str(d['seq'])}${d['reason'] ? ` (${str(d['reason'])})` : ''}`;
    case 'drain':
      return `${node} is draining: its shards move elsewhere`;
    case 'undrain':
      return `${node} takes shards again`;
    case 'leave':
      return `${node} is leaving (told to stop): its ${typeof d['shards'] === 'number' ? `${d['shards']} ` : ''}shards move elsewhere by resume`;
    case 'left':
      return `${node} left the cluster${typeof d['shards'] === 'number' && d['shards'] > 0 ? `; ${d['shards']} shards it still held fail over by resume` : ''}`;
    case 'reshard_start':
      return `reshard from ${str(d['from'])} to ${str(d['to'])} shards started (${str(d['trigger'])}): the new set identifies beside the old one`;
    case 'reshard_switch':
      return `reshard: old shard${Array.isArray(d['old']) && d['old'].length === 1 ? '' : 's'} ${Array.isArray(d['old']) ? d['old'].join(', ') : '?'} handed ${Array.isArray(d['new']) ? `to new shards ${d['new'].join(', ')}` : 'over'} (${str(d['handledIds'])} handled ids skipped)`;
    case 'reshard_done':
      return `reshard done: ${str(d['from'])} → ${str(d['to'])} shards in ${typeof d['tookMs'] === 'number' ? formatAge(d['tookMs']) : '?'}, ${str(d['identifies'])} IDENTIFYs`;
    case 'reshard_aborted':
      return `reshard to ${str(d['to'])} shards rolled back: ${str(d['reason'])}`;
    default:
      return [event.kind, event.nodeId, event.shardId === null ? null : `shard ${event.shardId}`, Object.keys(d).length > 0 ? JSON.stringify(d) : null]
        .filter((part) => part !== null)
        .join(' ');
  }
}

/** "850 ms", "12 s", "4 min", "3 h 5 min". */
export function formatAge(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${Math.floor(ms / 1_000)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min`;
  const h = Math.floor(ms / 3_600_000);
  return `${h} h ${Math.floor((ms % 3_600_000) / 60_000)} min`;
}

/** Reads shard_sessions rows as a read-only query answers them; bad rows are skipped. */
export function parseSessions(result: { columns: readonly string[]; rows: readonly unknown[][] }): CommittedSession[] {
  const index = (name: string): number => result.columns.indexOf(name);
  const [id, seq, updated] = [index('shard_id'), index('seq'), index('updated_at')];
  if (id < 0 || seq < 0 || updated < 0) return [];
  return result.rows.flatMap((row) => {
    const values = [row[id], row[seq], row[updated]].map(Number);
    return values.every(Number.isFinite) ? [{ shardId: values[0]!, seq: values[1]!, updatedAt: values[2]! }] : [];
  });
}

function isHostStatus(value: unknown): value is HostStatus {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<Record<keyof HostStatus, unknown>>;
  const node = s.node as Partial<HostStatus['node']> | undefined;
  return (
    typeof node === 'object' &&
    node !== null &&
    typeof node.id === 'string' &&
    typeof s.shardCount === 'number' &&
    Array.isArray(s.shards) &&
    Array.isArray(s.nodes) &&
    Array.isArray(s.assignments) &&
    Array.isArray(s.events)
  );
}

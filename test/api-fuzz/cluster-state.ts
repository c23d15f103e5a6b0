import { createHash } from 'node:crypto';

/**
 * What a rejected request must leave as it was: every node's GET /status without the fields
 * that move by themselves (heartbeat times, counters, rates, timings), and the database read
 * through POST /query, table by table, without the columns that move by themselves.
 */

/** Columns that change with time alone: heartbeats, load figures, commit times of unchanged sessions. */
const VOLATILE_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  nodes: ['last_heartbeat_at', 'meta'],
  shard_sessions: ['updated_at'],
};

interface Status {
  node: { id: string; role: string; primary: string | null; mode: string };
  shardCount: number;
  shards: { shardId: number; generation: number; mode: string; epoch: number; status: string; sessionId: string | null }[];
  nodes: { id: string; url: string; draining: boolean }[];
  assignments: { generation?: number; shardId: number; nodeId: string | null; epoch: number; state: string }[];
  identify: { total: number; granted: number } | null;
  events: { id: number }[];
  reshard?: { generation: number; phase: string; to: number } | null;
}

async function call<T>(url: string, token: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** One node's status as far as it must not change under refused requests. */
export async function stableStatus(nodeUrl: string, adminToken: string): Promise<unknown> {
  const s = await call<Status>(`${nodeUrl}/status`, adminToken);
  const byId = <T extends { shardId: number; generation?: number }>(a: T, b: T) => (a.generation ?? 0) - (b.generation ?? 0) || a.shardId - b.shardId;
  return {
    node: { id: s.node.id, role: s.node.role, primary: s.node.primary, mode: s.node.mode },
    shardCount: s.shardCount,
    shards: s.shards.map((r) => ({ shardId: r.shardId, generation: r.generation, mode: r.mode, epoch: r.epoch, status: r.status, sessionId: r.sessionId })).sort(byId),
    nodes: s.nodes.map((n) => ({ id: n.id, url: n.url, draining: n.draining })).sort((a, b) => a.id.localeCompare(b.id)),
    assignments: s.assignments.map((a) => ({ generation: a.generation ?? 0, shardId: a.shardId, nodeId: a.nodeId, epoch: a.epoch, state: a.state })).sort(byId),
    identify: s.identify ? { total: s.identify.total, granted: s.identify.granted } : null,
    events: s.events.map((e) => e.id),
    reshard: s.reshard ? { generation: s.reshard.generation, phase: s.reshard.phase, to: s.reshard.to } : null,
  };
}

/** A digest of every table's rows (volatile columns left out), read on one node with POST /query. */
export async function databaseDigest(nodeUrl: string, adminToken: string): Promise<Record<string, string>> {
  const query = (sql: string) =>
    call<{ columns: string[]; rows: unknown[][]; truncated: boolean }>(`${nodeUrl}/query`, adminToken, { method: 'POST', body: JSON.stringify({ sql, maxRows: 10_000 }) });
  const tables = await query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  const digest: Record<string, string> = {};
  for (const [name] of tables.rows as [string][]) {
    const result = await query(`SELECT * FROM "${name.replace(/"/g, '""')}"`);
    if (result.truncated) throw new Error(`Table ${name} has more than 10000 rows: the digest would not cover it`);
    const skip = new Set(VOLATILE_COLUMNS[name] ?? []);
    const keep = result.columns.map((c, i) => (skip.has(c) ? -1 : i)).filter((i) => i >= 0);
    const rows = result.rows.map((row) => JSON.stringify(keep.map((i) => row[i]))).sort();
    digest[name] = `${rows.length} rows ${createHash('sha256').update(rows.join('\n')).digest('hex').slice(0, 16)}`;
  }
  return digest;
}

export interface ClusterState {
  readonly statuses: Record<string, unknown>;
  readonly database: Record<string, string>;
}

export async function clusterState(nodes: readonly { id: string; url: string }[], adminToken: string, databaseNode: string): Promise<ClusterState> {
  const statuses: Record<string, unknown> = {};
  for (const node of nodes) statuses[node.id] = await stableStatus(node.url, adminToken);
  return { statuses, database: await databaseDigest(databaseNode, adminToken) };
}

/** What differs between two snapshots, one line each (empty: nothing changed). */
export function stateDiff(before: ClusterState, after: ClusterState): string[] {
  const lines: string[] = [];
  for (const id of new Set([...Object.keys(before.statuses), ...Object.keys(after.statuses)])) {
    const a = JSON.stringify(before.statuses[id]);
    const b = JSON.stringify(after.statuses[id]);
    if (a !== b) lines.push(`GET /status of ${id} changed:\n  before ${a}\n  after  ${b}`);
  }
  for (const table of new Set([...Object.keys(before.database), ...Object.keys(after.database)])) {
    if (before.database[table] !== after.database[table]) lines.push(`table ${table} changed: ${before.database[table] ?? 'absent'} -> ${after.database[table] ?? 'absent'}`);
  }
  return lines;
}

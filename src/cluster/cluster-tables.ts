import type { SqliteDriver } from '../core/sqlite.ts';

/** Reads and writes of the cluster's own tables. Writes only ever run on the primary's connection. */

export interface AssignmentRow {
  /** The shard set (shard_sets.generation); absent on rows built by older callers: the active set. */
  readonly generation?: number;
  readonly shardId: number;
  readonly nodeId: string | null;
  readonly epoch: number;
  readonly state: string;
  readonly updatedAt: number;
}

export interface NodeRow {
  readonly id: string;
  readonly url: string;
  readonly version: string;
  readonly startedAt: number;
  readonly lastHeartbeatAt: number;
  readonly draining: boolean;
}

export interface ClusterEventRow {
  readonly id: number;
  readonly at: number;
  readonly kind: string;
  readonly nodeId: string | null;
  readonly shardId: number | null;
  readonly detail: Record<string, unknown>;
}

/** The generation of the active shard set as SQL: 0 before the first set is recorded. */
export const ACTIVE_GENERATION_SQL = "coalesce((SELECT generation FROM shard_sets WHERE state = 'active' ORDER BY generation DESC LIMIT 1), 0)";

function assignmentRow(r: Record<string, unknown>): AssignmentRow {
  return {
    generation: Number(r['generation']),
    shardId: Number(r['shard_id']),
    nodeId: (r['node_id'] as string | null) ?? null,
    epoch: Number(r['epoch']),
    state: String(r['state']),
    updatedAt: Number(r['updated_at']),
  };
}

/** The assignments of one shard set by shard id: by default the active set's. */
export function readAssignments(db: SqliteDriver, generation?: number): Map<number, AssignmentRow> {
  const rows = generation === undefined
    ? db.prepare(`SELECT generation, shard_id, node_id, epoch, state, updated_at FROM shard_assignments WHERE generation = ${ACTIVE_GENERATION_SQL}`).all()
    : db.prepare('SELECT generation, shard_id, node_id, epoch, state, updated_at FROM shard_assignments WHERE generation = ?').all([generation]);
  return new Map(rows.map((r) => [Number(r['shard_id']), assignmentRow(r)]));
}

/** Every set's assignments (the active set and, during a reshard, the pending one). */
export function readAllAssignments(db: SqliteDriver): AssignmentRow[] {
  return db.prepare('SELECT generation, shard_id, node_id, epoch, state, updated_at FROM shard_assignments ORDER BY generation, shard_id').all().map(assignmentRow);
}

/** Every node, by id; with `limit`, the `limit` heard from most recently (the nodes table keeps every node that ever joined). */
export function readNodes(db: SqliteDriver, limit?: number): NodeRow[] {
  const columns = 'id, url, version, started_at, last_heartbeat_at, draining';
  const sql = limit === undefined
    ? `SELECT ${columns} FROM nodes ORDER BY id`
    : `SELECT ${columns} FROM (SELECT ${columns} FROM nodes ORDER BY last_heartbeat_at DESC LIMIT ?) ORDER BY id`;
  return db
    .prepare(sql)
    .all(limit === undefined ? [] : [limit])
    .map((r) => ({
      id: String(r['id']),
      url: String(r['url']),
      version: String(r['version']),
      startedAt: Number(r['started_at']),
      lastHeartbeatAt: Number(r['last_heartbeat_at']),
      draining: Boolean(r['draining']),
    }));
}

export function nodeUrl(db: SqliteDriver, nodeId: string): string | null {
  const row = db.prepare('SELECT url FROM nodes WHERE id = ?').get([nodeId]);
  return row ? String(row['url']) : null;
}

export function upsertNode(db: SqliteDriver, node: Omit<NodeRow, 'draining'>): void {
  db.prepare(
    `INSERT INTO nodes (id, url, version, started_at, last_heartbeat_at, draining, meta) VALUES (?, ?, ?, ?, ?, 0, '{}')
     ON CONFLICT(id) DO UPDATE SET url = excluded.url, version = excluded.version, started_at = excluded.started_at, last_heartbeat_at = excluded.last_heartbeat_at`,
  ).run([node.id, node.url, node.version, node.startedAt, node.lastHeartbeatAt]);
}

export function setDraining(db: SqliteDriver, nodeId: string, draining: boolean): boolean {
  return db.prepare('UPDATE nodes SET draining = ? WHERE id = ?').run([draining ? 1 : 0, nodeId]).changes > 0;
}

/** A row without a generation belongs to the active set. */
export function writeAssignment(db: SqliteDriver, row: AssignmentRow): void {
  db.prepare(
    `INSERT INTO shard_assignments (generation, shard_id, node_id, epoch, state, updated_at) VALUES (coalesce(?, ${ACTIVE_GENERATION_SQL}), ?, ?, ?, ?, ?)
     ON CONFLICT(generation, shard_id) DO UPDATE SET node_id = excluded.node_id, epoch = excluded.epoch, state = excluded.state, updated_at = excluded.updated_at`,
  ).run([row.generation ?? null, row.shardId, row.nodeId, row.epoch, row.state, row.updatedAt]);
}

/** Shards beyond a set's count (a restart with another count) have no place any more. */
export function deleteAssignmentsFrom(db: SqliteDriver, shardCount: number, generation = 0): number {
  return db.prepare('DELETE FROM shard_assignments WHERE generation = ? AND shard_id >= ?').run([generation, shardCount]).changes;
}

export function appendEvent(db: SqliteDriver, event: { at: number; kind: string; nodeId?: string | null; shardId?: number | null; detail?: Record<string, unknown> }): void {
  db.prepare('INSERT INTO cluster_events (at, kind, node_id, shard_id, detail) VALUES (?, ?, ?, ?, ?)').run([
    event.at,
    event.kind,
    event.nodeId ?? null,
    event.shardId ?? null,
    JSON.stringify(event.detail ?? {}),
  ]);
}

/** The newest cluster event's id in this database (0 when there is none). */
export function lastEventId(db: SqliteDriver): number {
  return Number(db.prepare('SELECT max(id) AS id FROM cluster_events').get()?.['id'] ?? 0);
}

/**
 * Whether a primary took over after event `afterId`: its coordinator's first write is a
 * 'takeover' event, replicated after everything the primaries before it committed.
 */
export function takeoverSince(db: SqliteDriver, afterId: number): boolean {
  return db.prepare("SELECT 1 AS x FROM cluster_events WHERE id > ? AND kind = 'takeover' LIMIT 1").get([afterId]) !== undefined;
}

/** A detail longer than this is left out of what the status shows (ours are a few fields). */
const MAX_EVENT_DETAIL = 4096;

export function recentEvents(db: SqliteDriver, limit = 50): ClusterEventRow[] {
  return db
    .prepare(
      `SELECT id, at, kind, node_id, shard_id, CASE WHEN length(detail) <= ${MAX_EVENT_DETAIL} THEN detail ELSE '{"omitted":"detail over ${MAX_EVENT_DETAIL} bytes"}' END AS detail FROM cluster_events ORDER BY id DESC LIMIT ?`,
    )
    .all([limit])
    .map((r) => ({
      id: Number(r['id']),
      at: Number(r['at']),
      kind: String(r['kind']),
      nodeId: (r['node_id'] as string | null) ?? null,
      shardId: r['shard_id'] === null ? null : Number(r['shard_id']),
      detail: safeJson(String(r['detail'])),
    }));
}

export function recordIdentify(db: SqliteDriver, row: { at: number; shardId: number; generation?: number; nodeId: string; bucket: number; remaining: number }): void {
  db.prepare(`INSERT INTO identify_ledger (started_at, shard_id, generation, node_id, bucket, limit_remaining) VALUES (?, ?, coalesce(?, ${ACTIVE_GENERATION_SQL}), ?, ?, ?)`).run([
    row.at,
    row.shardId,
    row.generation ?? null,
    row.nodeId,
    row.bucket,
    row.remaining,
  ]);
}

/** IDENTIFYs granted for a shard set (a reshard's spend is its new set's). */
export function identifiesOf(db: SqliteDriver, generation: number): number {
  return Number(db.prepare('SELECT count(*) AS n FROM identify_ledger WHERE generation = ?').get([generation])?.['n'] ?? 0);
}

function safeJson(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

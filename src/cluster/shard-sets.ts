import type { SqliteDriver } from '../core/sqlite.ts';

/** Reads and writes of `shard_sets` (contract 13). Writes run on the primary's connection only. */

export type ShardSetState = 'active' | 'pending' | 'retired' | 'aborted';

/** Why and how a set came to be, and how its reshard went; JSON in `shard_sets.detail`. */
export interface ShardSetDetail {
  /** http | cli | dashboard | 4011 | recommended | config (the first set). */
  readonly trigger?: string;
  /** The set it replaces. */
  readonly from?: { readonly generation: number; readonly shardCount: number };
  /** Switch groups (reshard-plan's switchGroups) whose handlers moved to this set. */
  readonly switched?: readonly number[];
  readonly startedAt?: number;
  readonly finishedAt?: number;
  /** Why it was aborted. */
  readonly reason?: string;
  /** IDENTIFYs the set took, counted when the reshard finished. */
  readonly identifies?: number;
}

export interface ShardSetRow {
  readonly generation: number;
  readonly shardCount: number;
  readonly state: ShardSetState;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly detail: ShardSetDetail;
}

export interface LiveSets {
  /** Null only before the first primary recorded one. */
  readonly active: ShardSetRow | null;
  /** The new set of a reshard in progress. */
  readonly pending: ShardSetRow | null;
}

function toRow(r: Record<string, unknown>): ShardSetRow {
  let detail: ShardSetDetail = {};
  try {
    const parsed = JSON.parse(String(r['detail'])) as unknown;
    if (typeof parsed === 'object' && parsed !== null) detail = parsed as ShardSetDetail;
  } catch {
    // A hand-edited row: its detail is lost, the set itself still counts.
  }
  return {
    generation: Number(r['generation']),
    shardCount: Number(r['shard_count']),
    state: String(r['state']) as ShardSetState,
    createdAt: Number(r['created_at']),
    updatedAt: Number(r['updated_at']),
    detail,
  };
}

/** Newest first. */
export function readShardSets(db: SqliteDriver, limit = 20): ShardSetRow[] {
  return db.prepare('SELECT generation, shard_count, state, created_at, updated_at, detail FROM shard_sets ORDER BY generation DESC LIMIT ?').all([limit]).map(toRow);
}

export function readLiveSets(db: SqliteDriver): LiveSets {
  const rows = db.prepare("SELECT generation, shard_count, state, created_at, updated_at, detail FROM shard_sets WHERE state IN ('active', 'pending') ORDER BY generation DESC").all().map(toRow);
  return { active: rows.find((r) => r.state === 'active') ?? null, pending: rows.find((r) => r.state === 'pending') ?? null };
}

/** The state of one set as this database knows it; null when its row has not replicated here (yet). */
export function shardSetState(db: SqliteDriver, generation: number): ShardSetState | null {
  const row = db.prepare('SELECT state FROM shard_sets WHERE generation = ?').get([generation]);
  return row ? (String(row['state']) as ShardSetState) : null;
}

/**
 * The active set, recorded now with `shardCount` (generation 0) if the cluster has none yet:
 * the configured count only ever seeds the first set; after that the table is the authority.
 */
export function ensureActiveSet(db: SqliteDriver, shardCount: number, now: number): ShardSetRow {
  const { active } = readLiveSets(db);
  if (active) return active;
  const generation = nextGeneration(db);
  insertShardSet(db, { generation, shardCount, state: 'active', createdAt: now, updatedAt: now, detail: { trigger: 'config' } });
  return { generation, shardCount, state: 'active', createdAt: now, updatedAt: now, detail: { trigger: 'config' } };
}

/** Generations never repeat, aborted sets included. */
export function nextGeneration(db: SqliteDriver): number {
  const row = db.prepare('SELECT max(generation) AS g FROM shard_sets').get();
  const max = row?.['g'];
  return max === null || max === undefined ? 0 : Number(max) + 1;
}

export function insertShardSet(db: SqliteDriver, row: ShardSetRow): void {
  db.prepare('INSERT INTO shard_sets (generation, shard_count, state, created_at, updated_at, detail) VALUES (?, ?, ?, ?, ?, ?)').run([
    row.generation,
    row.shardCount,
    row.state,
    row.createdAt,
    row.updatedAt,
    JSON.stringify(row.detail),
  ]);
}

export function updateShardSet(db: SqliteDriver, generation: number, change: { state?: ShardSetState; detail?: ShardSetDetail }, now: number): void {
  db.prepare('UPDATE shard_sets SET state = coalesce(?, state), detail = coalesce(?, detail), updated_at = ? WHERE generation = ?').run([
    change.state ?? null,
    change.detail === undefined ? null : JSON.stringify(change.detail),
    now,
    generation,
  ]);
}

/** A set that will never run again leaves no assignment and no session behind. */
export function deleteSetRows(db: SqliteDriver, generation: number): void {
  db.prepare('DELETE FROM shard_assignments WHERE generation = ?').run([generation]);
  db.prepare('DELETE FROM shard_sessions WHERE generation = ?').run([generation]);
}

import type { Move } from '../core/placement.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { appendEvent, writeAssignment, type AssignmentRow } from './cluster-tables.ts';
import { deleteSetRows, insertShardSet, nextGeneration, updateShardSet, type ShardSetDetail, type ShardSetRow } from './shard-sets.ts';

/**
 * The Resharder's writes, each one transaction on the primary's connection (run inside the
 * funnel's exclusive()): the tables are the reshard's whole state, so a new primary reads it back.
 */

/** The pending set and its unplaced shards. */
export function commitStart(db: SqliteDriver, input: { from: { generation: number; shardCount: number }; to: number; trigger: string; now: number }): ShardSetRow {
  const { from, to, trigger, now } = input;
  const row: ShardSetRow = { generation: nextGeneration(db), shardCount: to, state: 'pending', createdAt: now, updatedAt: now, detail: { trigger, from, switched: [], startedAt: now } };
  db.transaction(() => {
    insertShardSet(db, row);
    for (let shardId = 0; shardId < to; shardId++) writeAssignment(db, { generation: row.generation, shardId, nodeId: null, epoch: 0, state: 'assigned', updatedAt: now });
    appendEvent(db, { at: now, kind: 'reshard_start', detail: { generation: row.generation, from: from.shardCount, to, trigger } });
  });
  return row;
}

/** New-set shards placed (or failed over) at their next epoch. */
export function commitPlacement(db: SqliteDriver, generation: number, moves: readonly Move[], epochOf: (shardId: number) => number, now: number): AssignmentRow[] {
  const rows: AssignmentRow[] = [];
  db.transaction(() => {
    for (const move of moves) {
      const row: AssignmentRow = { generation, shardId: move.shardId, nodeId: move.to, epoch: epochOf(move.shardId) + 1, state: 'assigned', updatedAt: now };
      writeAssignment(db, row);
      appendEvent(db, { at: now, kind: move.kind === 'failover' ? 'failover' : 'place', nodeId: move.to, shardId: move.shardId, detail: { generation, from: move.from, epoch: row.epoch } });
      rows.push(row);
    }
  });
  return rows;
}

/** A group's old shards retired (owner none, epoch bumped: their late writes are refused), the group recorded switched. */
export function commitSwitch(db: SqliteDriver, input: { generation: number; retired: readonly AssignmentRow[]; detail: ShardSetDetail; event: Record<string, unknown>; now: number }): void {
  db.transaction(() => {
    for (const row of input.retired) writeAssignment(db, row);
    updateShardSet(db, input.generation, { detail: input.detail }, input.now);
    appendEvent(db, { at: input.now, kind: 'reshard_switch', detail: { generation: input.generation, ...input.event } });
  });
}

/** The new set is the active one; the old set's rows go, and the cache names each guild's shard in the new set. */
export function commitPromotion(db: SqliteDriver, input: { from: { generation: number; shardCount: number }; generation: number; shardCount: number; detail: ShardSetDetail; tookMs: number; identifies: number; now: number }): void {
  const { from, generation, shardCount, now } = input;
  db.transaction(() => {
    updateShardSet(db, from.generation, { state: 'retired' }, now);
    updateShardSet(db, generation, { state: 'active', detail: input.detail }, now);
    deleteSetRows(db, from.generation);
    db.prepare('UPDATE guilds SET shard_id = (CAST(id AS INTEGER) >> 22) % ? WHERE shard_id <> (CAST(id AS INTEGER) >> 22) % ?').run([shardCount, shardCount]);
    appendEvent(db, { at: now, kind: 'reshard_done', detail: { generation, from: from.shardCount, to: shardCount, tookMs: input.tookMs, identifies: input.identifies } });
  });
}

/** The pending set rolled back: its rows go, the old set never stopped. */
export function commitAbort(db: SqliteDriver, input: { generation: number; to: number; detail: ShardSetDetail; reason: string; now: number }): void {
  db.transaction(() => {
    updateShardSet(db, input.generation, { state: 'aborted', detail: input.detail }, input.now);
    deleteSetRows(db, input.generation);
    appendEvent(db, { at: input.now, kind: 'reshard_aborted', detail: { generation: input.generation, to: input.to, reason: input.reason } });
  });
}

/**
 * Write entries as one flat array of primitives: what the thread funnel posts to its
 * transaction thread. A structured clone of entries writes every row object's keys and makes
 * the thread rebuild each object (bench: about 3 us per event of the thread's time, the busiest
 * thread); values in a row cost a fraction of that on both sides, and the thread binds them
 * from the array without building a mutation object.
 *
 * Layout, entry after entry: shardId, epoch, generation (or null: the active set), sessionId
 * (or null), seq, resumeGatewayUrl,
 * shardCount, mutation count, then each mutation: an op code and its fields; an upsert's row
 * comes as the table's columns in MutationApplier's order, already bound (booleans as 0/1).
 */
import { CACHE_TABLES } from '../core/mutation.ts';
import type { CacheTable, Mutation, SessionCommit, WriteEntry } from '../core/mutation.ts';
import { COLUMN_KEYS } from './table-specs.ts';

export const OP = {
  upsert: 0,
  upsertMerge: 1,
  deleteById: 2,
  deleteMember: 3,
  markGuildUnavailable: 4,
  deleteGuild: 5,
  deleteGuildRows: 6,
  deleteThreads: 7,
  clearShard: 8,
  countMember: 9,
} as const;

const ENTRY_HEADER = 8;

/** Fields after the op code, by op; an upsert adds its table's columns. */
const FIELDS: readonly number[] = [1, 1, 2, 3, 1, 1, 3, 2, 2, 3];

export const tableIndex = (table: CacheTable): number => CACHE_TABLES.indexOf(table);

/** Where the mutation at `offset` ends. */
export function packedMutationEnd(values: readonly unknown[], offset: number): number {
  const op = values[offset] as number;
  const end = offset + 1 + FIELDS[op]!;
  return op <= OP.upsertMerge ? end + COLUMN_KEYS[CACHE_TABLES[values[offset + 1] as number]!].length : end;
}

function bind(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

function packMutation(out: unknown[], m: Mutation): void {
  switch (m.op) {
    case 'upsert': {
      out.push(m.merge === true ? OP.upsertMerge : OP.upsert, tableIndex(m.table));
      const row = m.row as unknown as Record<string, unknown>;
      for (const key of COLUMN_KEYS[m.table]) out.push(key === '@now' ? null : bind(row[key]));
      return;
    }
    case 'delete':
      if ('id' in m) out.push(OP.deleteById, tableIndex(m.table), m.id);
      else out.push(OP.deleteMember, tableIndex(m.table), m.guildId, m.userId);
      return;
    case 'markGuildUnavailable':
      out.push(OP.markGuildUnavailable, m.guildId);
      return;
    case 'deleteGuild':
      out.push(OP.deleteGuild, m.guildId);
      return;
    case 'deleteGuildRows':
      out.push(OP.deleteGuildRows, tableIndex(m.table), m.guildId, m.keepIds ?? null);
      return;
    case 'deleteThreads':
      out.push(OP.deleteThreads, m.guildId, m.parentIds ?? null);
      return;
    case 'clearShard':
      out.push(OP.clearShard, m.shardId, m.shardCount);
      return;
    case 'countMember':
      out.push(OP.countMember, m.guildId, m.userId, m.delta);
      return;
    default:
      // Local entries come from dispatchMutations and forwarded ones passed parseWriteEntry.
      throw new Error(`Cannot pack a mutation with op ${JSON.stringify((m as { op?: unknown }).op)}`);
  }
}

export function packEntries(entries: readonly WriteEntry[]): unknown[] {
  const out: unknown[] = [];
  for (const entry of entries) {
    const s = entry.session;
    out.push(entry.shardId, entry.epoch, entry.generation ?? null, s ? s.sessionId : null, s ? s.seq : 0, s ? s.resumeGatewayUrl : '', s ? s.shardCount : 0, entry.mutations.length);
    for (const m of entry.mutations) packMutation(out, m);
  }
  return out;
}

/** What applyBatch needs of a batch: entries by index, however they are held. */
export interface BatchEntries {
  readonly length: number;
  shardId(index: number): number;
  epoch(index: number): number;
  /** The entry's shard set (contract 13); undefined: the active one. */
  generation(index: number): number | undefined;
  session(index: number): SessionCommit | undefined;
  /** Whether session(index) is defined, without building it. */
  hasSession(index: number): boolean;
  /** Applies the entry's mutations; returns the rows SQLite changed. */
  apply(index: number, applier: { apply(m: Mutation, now: number): number; applyPacked(values: readonly unknown[], offset: number, now: number): number }, now: number): number;
}

export function entryList(entries: readonly WriteEntry[]): BatchEntries {
  return {
    length: entries.length,
    shardId: (i) => entries[i]!.shardId,
    epoch: (i) => entries[i]!.epoch,
    generation: (i) => entries[i]!.generation,
    session: (i) => entries[i]!.session,
    hasSession: (i) => entries[i]!.session !== undefined,
    apply(i, applier, now) {
      let rows = 0;
      for (const m of entries[i]!.mutations) rows += applier.apply(m, now);
      return rows;
    },
  };
}

/** A packed batch read in place: one pass finds where each entry starts. */
export function packedList(values: readonly unknown[]): BatchEntries {
  const starts: number[] = [];
  let offset = 0;
  while (offset < values.length) {
    starts.push(offset);
    const count = values[offset + ENTRY_HEADER - 1] as number;
    offset += ENTRY_HEADER;
    for (let i = 0; i < count; i++) offset = packedMutationEnd(values, offset);
  }
  return {
    length: starts.length,
    shardId: (i) => values[starts[i]!] as number,
    epoch: (i) => values[starts[i]! + 1] as number,
    generation: (i) => (values[starts[i]! + 2] as number | null) ?? undefined,
    hasSession: (i) => values[starts[i]! + 3] !== null,
    session(i) {
      const o = starts[i]!;
      const sessionId = values[o + 3];
      if (sessionId === null) return undefined;
      return { sessionId: sessionId as string, seq: values[o + 4] as number, resumeGatewayUrl: values[o + 5] as string, shardCount: values[o + 6] as number };
    },
    apply(i, applier, now) {
      let offset = starts[i]!;
      const count = values[offset + ENTRY_HEADER - 1] as number;
      offset += ENTRY_HEADER;
      let rows = 0;
      for (let n = 0; n < count; n++) {
        rows += applier.applyPacked(values, offset, now);
        offset = packedMutationEnd(values, offset);
      }
      return rows;
    },
  };
}

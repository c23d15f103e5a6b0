/**
 * The soak's own read-only look at every node's database file (on the simulated LiteFS mounts
 * in this thread): the assignments, sessions and identify ledger the checkers sample, and the
 * cache the final comparison with the world reads.
 */
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { queryLimits, runReadOnlyQuery } from '../../src/store/queries.ts';
import type { CacheReader } from '../helpers/cache-vs-world.ts';
import type { AssignmentSample, SessionSample } from './invariants/ownership-check.ts';

export class NodeDatabases {
  readonly #open = new Map<string, SqliteDriver>();
  readonly #paths: ReadonlyMap<string, string>;

  constructor(paths: ReadonlyMap<string, string>) {
    this.#paths = paths;
  }

  /** Closes the node's connection: its file was replaced (a snapshot). */
  reopen(node: string): void {
    this.#open.get(node)?.close();
    this.#open.delete(node);
  }

  close(): void {
    for (const db of this.#open.values()) db.close();
    this.#open.clear();
  }

  /** Null while the file or its tables do not exist yet, or SQLite is busy for a moment. */
  #read<T>(node: string, body: (db: SqliteDriver) => T): T | null {
    try {
      let db = this.#open.get(node);
      if (!db) {
        db = betterSqlite3Driver({ path: this.#paths.get(node)!, readonly: true, busyTimeoutMs: 20 });
        this.#open.set(node, db);
      }
      return body(db);
    } catch {
      return null;
    }
  }

  assignments(node: string): AssignmentSample[] | null {
    return this.#read(node, (db) =>
      db.prepare('SELECT shard_id, generation, epoch, node_id FROM shard_assignments').all().map((r) => ({
        shardId: Number(r['shard_id']),
        generation: Number(r['generation']),
        epoch: Number(r['epoch']),
        nodeId: (r['node_id'] as string | null) ?? null,
      })),
    );
  }

  sessions(node: string): SessionSample[] | null {
    return this.#read(node, (db) =>
      db.prepare('SELECT shard_id, generation, session_id, seq FROM shard_sessions').all().map((r) => ({
        shardId: Number(r['shard_id']),
        generation: Number(r['generation']),
        sessionId: String(r['session_id']),
        seq: Number(r['seq']),
      })),
    );
  }

  grantsByShard(node: string): Map<number, number> | null {
    return this.#read(node, (db) => new Map(db.prepare('SELECT shard_id, count(*) AS n FROM identify_ledger GROUP BY shard_id').all().map((r) => [Number(r['shard_id']), Number(r['n'])])));
  }

  /** The node's cache as the world comparison reads it. */
  reader(node: string): CacheReader {
    return {
      query: (sql, params = [], limits = {}) => {
        const result = this.#read(node, (db) => runReadOnlyQuery(db, sql, params, queryLimits(limits, { maxRows: 100_000, timeoutMs: 30_000, maxBytes: 256 * 1024 * 1024 })));
        if (!result) throw new Error(`cannot read ${node}'s database`);
        return result;
      },
    } as CacheReader;
  }
}

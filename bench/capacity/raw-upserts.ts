/**
 * The raw ceiling of a mount: a plain loop of single-row upserts of presence-like rows (a JSON
 * column, WAL, shardline's connection settings) in transactions of several sizes, on a file of
 * its own beside the cluster's database. What any writer could commit there, with none of
 * shardline's work around it.
 *
 * On a FUSE mount a transaction costs about a round trip per page it dirties (two per WAL
 * frame), so what a loop commits depends on how many pages its rows are spread over: the same
 * loop commits 8x more rows per second on a table of 8,000 short rows than on one of 100,000.
 * The table is therefore sized like the cluster's own cache: as many rows as the cache holds,
 * and as many pages as the cluster's database (`RawTable`), so that both spread their updates
 * over the same amount of data.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { openDatabase } from '../../src/store/open-database.ts';

export interface RawPoint {
  readonly rowsPerTx: number;
  readonly msPerTx: number;
  readonly rowsPerSec: number;
  readonly txPerSec: number;
}

export interface RawTable {
  /** Distinct rows in the table (every one present before anything is timed). */
  readonly rows: number;
  /** Pages the table and its key index should fill, give or take a tenth (the cluster's database). */
  readonly pages: number;
}

export interface RawCurve {
  readonly points: RawPoint[];
  readonly rows: number;
  readonly pages: number;
  readonly rowBytes: number;
}

const STATUSES = ['online', 'idle', 'dnd', 'offline'];

/** murmur3's 32-bit finalizer: consecutive n map to keys all over the table. */
function scramble(n: number): number {
  let x = n;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Ids as strings of 18 digits, built as strings: a first version added the key to 2e17 as a
 * number, past 2^53, so 100,000 keys collapsed into 8,369 rows on 136 pages and the ceiling
 * it reported was that of a 2 MB table.
 */
const guildId = (key: number): string => `1${String(key % 1000).padStart(17, '0')}`;
const userId = (key: number): string => `2${String(key).padStart(17, '0')}`;

function rowOf(key: number, n: number, pad: string): [string, string, string, string] {
  const status = STATUSES[n % STATUSES.length]!;
  const raw = JSON.stringify({ status, activities: [{ name: `game ${n % 97}`, type: 0, created_at: 1_700_000_000_000 + n, state: pad }], client_status: { desktop: status } });
  return [guildId(key), userId(key), status, raw];
}

const CREATE = 'CREATE TABLE presence_like (guild_id TEXT NOT NULL, user_id TEXT NOT NULL, status TEXT, raw TEXT NOT NULL, PRIMARY KEY (guild_id, user_id))';
const UPSERT = 'INSERT INTO presence_like (guild_id, user_id, status, raw) VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET status = excluded.status, raw = excluded.raw';

/** Every key once, in a scrambled order (rowids do not follow keys, as in a cache filled by events). */
function fill(db: SqliteDriver, rows: number, pad: string): number {
  db.exec('DROP TABLE IF EXISTS presence_like');
  db.exec(CREATE);
  const upsert = db.prepare(UPSERT);
  // A stride coprime with the row count visits every key once.
  let stride = 7_919;
  while (gcd(stride, rows) !== 1) stride += 2;
  db.transaction(() => {
    for (let i = 0; i < rows; i++) upsert.run(rowOf((i * stride) % rows, i, pad));
  });
  return Number(db.prepare('PRAGMA page_count').values()[0]?.[0] ?? 0);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

export function rawUpsertCurve(dir: string, sizes: readonly number[], table: RawTable, minMs = 1_500): RawCurve {
  const path = join(dir, 'raw-upserts.db');
  const db = openDatabase({ path, driverFactory: betterSqlite3Driver });
  try {
    // Rows padded so that the table fills the pages asked for: one estimate, then one correction.
    const pageSize = Number(db.prepare('PRAGMA page_size').values()[0]?.[0] ?? 4096);
    const bare = rowOf(0, 0, '')[3].length + 60;
    let padBytes = Math.max(0, Math.round((table.pages * pageSize * 0.8) / table.rows) - bare);
    let pages = fill(db, table.rows, 'x'.repeat(padBytes));
    if (Math.abs(pages - table.pages) > table.pages / 10) {
      padBytes = Math.max(0, Math.round((padBytes + bare) * (table.pages / pages)) - bare);
      pages = fill(db, table.rows, 'x'.repeat(padBytes));
    }
    const pad = 'x'.repeat(padBytes);
    const upsert = db.prepare(UPSERT);
    let n = 0;
    // Each update lands on a random row, as a presence update does, not next to the last one.
    const one = (): void => void upsert.run(rowOf(scramble(++n) % table.rows, n, pad));
    const points = sizes.map((rowsPerTx) => {
      let tx = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < minMs || tx < 3) {
        db.transaction(() => {
          for (let i = 0; i < rowsPerTx; i++) one();
        });
        tx++;
      }
      const ms = performance.now() - t0;
      return { rowsPerTx, msPerTx: ms / tx, rowsPerSec: (rowsPerTx * tx * 1000) / ms, txPerSec: (tx * 1000) / ms };
    });
    return { points, rows: table.rows, pages, rowBytes: rowOf(0, 0, pad)[3].length + 40 };
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  }
}

/**
 * Rows per second the raw loop commits when it makes `txPerSec` transactions a second: the
 * transaction size whose time is 1/txPerSec, interpolated between the measured sizes (and
 * extrapolated from the last two outside them), times txPerSec.
 */
export function rawRowsAtTxRate(curve: readonly RawPoint[], txPerSec: number): number {
  const targetMs = 1000 / txPerSec;
  const points = [...curve].sort((a, b) => a.msPerTx - b.msPerTx);
  let lo = points[0]!;
  let hi = points[1] ?? points[0]!;
  for (let i = 1; i < points.length; i++) {
    lo = points[i - 1]!;
    hi = points[i]!;
    if (hi.msPerTx >= targetMs) break;
  }
  if (hi.msPerTx === lo.msPerTx) return hi.rowsPerTx * txPerSec;
  const rows = lo.rowsPerTx + ((targetMs - lo.msPerTx) * (hi.rowsPerTx - lo.rowsPerTx)) / (hi.msPerTx - lo.msPerTx);
  return Math.max(0, rows) * txPerSec;
}

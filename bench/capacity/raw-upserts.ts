/**
 * The raw ceiling of a mount: a plain loop of single-row upserts of presence-like rows (a JSON
 * column, WAL, shardline's connection settings) in transactions of several sizes, on a file of
 * its own beside the cluster's database. What any writer could commit there, with none of
 * shardline's work around it.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { openDatabase } from '../../src/store/open-database.ts';

export interface RawPoint {
  readonly rowsPerTx: number;
  readonly msPerTx: number;
  readonly rowsPerSec: number;
  readonly txPerSec: number;
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

export function rawUpsertCurve(dir: string, sizes: readonly number[], keys = 100_000, minMs = 1_500): RawPoint[] {
  const path = join(dir, 'raw-upserts.db');
  const db = openDatabase({ path, driverFactory: betterSqlite3Driver });
  try {
    db.exec('CREATE TABLE IF NOT EXISTS presence_like (guild_id TEXT NOT NULL, user_id TEXT NOT NULL, status TEXT, raw TEXT NOT NULL, PRIMARY KEY (guild_id, user_id))');
    const upsert = db.prepare('INSERT INTO presence_like (guild_id, user_id, status, raw) VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET status = excluded.status, raw = excluded.raw');
    let n = 0;
    const one = (): void => {
      n++;
      // Keys in a scrambled order: each update lands on a random row, as a presence update
      // does, not next to the last one in rowid order.
      const key = scramble(n) % keys;
      const status = STATUSES[n % STATUSES.length]!;
      const raw = JSON.stringify({ status, activities: [{ name: `game ${n % 97}`, type: 0, created_at: 1_700_000_000_000 + n }], client_status: { desktop: status } });
      upsert.run([String(100_000_000_000_000_000 + (key % 1000)), String(200_000_000_000_000_000 + key), status, raw]);
    };
    // The table at about its full size before anything is timed.
    db.transaction(() => {
      for (let i = 0; i < keys; i++) one();
    });
    return sizes.map((rowsPerTx) => {
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

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteDriverFactory } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { openDatabase, readPragmas } from '../../src/store/open-database.ts';

describe('openDatabase', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-open-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a busy timeout below 5000 ms', () => {
    expect(() => openDatabase({ path: join(dir, 'a.db'), driverFactory: betterSqlite3Driver, busyTimeoutMs: 1000 })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('>= 5000') }),
    );
  });

  it('names the file when a read-only open finds nothing to read', () => {
    expect(() => openDatabase({ path: join(dir, 'missing.db'), readonly: true, driverFactory: betterSqlite3Driver })).toThrow(
      expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('missing.db') }),
    );
  });

  it('sets a page cache large enough for the funnel', () => {
    const db = openDatabase({ path: join(dir, 'a.db'), driverFactory: betterSqlite3Driver });
    try {
      expect(db.prepare('PRAGMA cache_size').values()).toEqual([[-32768]]);
      expect(readPragmas(db).foreignKeys).toBe(true);
    } finally {
      db.close();
    }
  });

  it('creates a database with 16 KiB pages and leaves an existing file its own page size', () => {
    const fresh = openDatabase({ path: join(dir, 'new.db'), driverFactory: betterSqlite3Driver });
    try {
      expect(fresh.prepare('PRAGMA page_size').values()).toEqual([[16384]]);
    } finally {
      fresh.close();
    }
    const old = openDatabase({ path: join(dir, 'old.db'), driverFactory: betterSqlite3Driver, pageSizeBytes: 4096 });
    old.exec('CREATE TABLE t (x)');
    old.close();
    const again = openDatabase({ path: join(dir, 'old.db'), driverFactory: betterSqlite3Driver });
    try {
      expect(again.prepare('PRAGMA page_size').values()).toEqual([[4096]]);
    } finally {
      again.close();
    }
    expect(() => openDatabase({ path: join(dir, 'b.db'), driverFactory: betterSqlite3Driver, pageSizeBytes: 5000 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('power of two') }));
  });

  it('refuses a connection someone left in EXCLUSIVE locking mode, and closes it', () => {
    let closed = false;
    const exclusive: SqliteDriverFactory = (options) => {
      const inner = betterSqlite3Driver(options);
      inner.exec('PRAGMA locking_mode = EXCLUSIVE');
      return { ...inner, path: inner.path, readonly: inner.readonly, close: () => ((closed = true), inner.close()) };
    };
    expect(() => openDatabase({ path: join(dir, 'a.db'), driverFactory: exclusive })).toThrow(expect.objectContaining({ code: 'STORE_UNAVAILABLE', message: expect.stringContaining('EXCLUSIVE') }));
    expect(closed).toBe(true);
  });
});

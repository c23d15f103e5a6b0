import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { betterSqlite3Driver } from '../runtime/better-sqlite3-driver.ts';
import { openDatabase } from './open-database.ts';

describe('openDatabase WAL checkpointing', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-open-wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('checkpoints every 40 MiB of WAL by default on a writable connection, in pages of its file', () => {
    for (const [pageSizeBytes, pages] of [[16_384, 2_560], [4_096, 10_240]] as const) {
      const db = openDatabase({ path: join(dir, `${pageSizeBytes}.db`), driverFactory: betterSqlite3Driver, pageSizeBytes });
      try {
        expect(db.prepare('PRAGMA wal_autocheckpoint').values()).toEqual([[pages]]);
      } finally {
        db.close();
      }
    }
  });

  it('takes the autocheckpoint size it is given', () => {
    const db = openDatabase({ path: join(dir, 'a.db'), driverFactory: betterSqlite3Driver, walAutocheckpointPages: 2500 });
    try {
      expect(db.prepare('PRAGMA wal_autocheckpoint').values()).toEqual([[2500]]);
    } finally {
      db.close();
    }
  });

  it('leaves a read-only connection at the SQLite default', () => {
    openDatabase({ path: join(dir, 'a.db'), driverFactory: betterSqlite3Driver }).close();
    const db = openDatabase({ path: join(dir, 'a.db'), driverFactory: betterSqlite3Driver, readonly: true });
    try {
      expect(db.prepare('PRAGMA wal_autocheckpoint').values()).toEqual([[1000]]);
    } finally {
      db.close();
    }
  });

  it.each([0, -5, 1.5])('refuses an autocheckpoint of %s pages before opening anything', (pages) => {
    expect(() => openDatabase({ path: join(dir, 'never.db'), driverFactory: betterSqlite3Driver, walAutocheckpointPages: pages })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining('never.db') }),
    );
  });
});

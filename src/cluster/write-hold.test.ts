import { afterEach, describe, expect, it } from 'vitest';
import { isUnavailableError, sqliteErrorCode, type SqliteDriver } from '../core/sqlite.ts';
import { betterSqlite3Driver } from '../runtime/better-sqlite3-driver.ts';
import { WriteHold, holdableDriver } from './write-hold.ts';

describe('WriteHold', () => {
  let raw: SqliteDriver | null = null;

  afterEach(() => {
    raw?.close();
    raw = null;
  });

  const setup = (): { db: SqliteDriver; hold: WriteHold; clock: { now: number } } => {
    const clock = { now: 1_000 };
    const hold = new WriteHold(() => clock.now);
    raw = betterSqlite3Driver({ path: ':memory:', readonly: false, busyTimeoutMs: 5_000 });
    const db = holdableDriver(raw, hold);
    db.exec('create table t (v integer)');
    return { db, hold, clock };
  };

  const refusal = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    throw new Error('the write went through while writes were held');
  };

  it('refuses every kind of write while held, as SQLITE_BUSY (retry later), and lets reads through', () => {
    const { db, hold } = setup();
    const insert = db.prepare('insert into t (v) values (?)');
    insert.run([1]);
    expect(hold.hold(500)).toBe(500);
    for (const write of [
      () => insert.run([2]),
      () => db.exec('insert into t (v) values (3)'),
      () => db.transaction(() => 0),
      () => db.prepare('insert into t (v) values (4) returning v').get(),
    ]) {
      const error = refusal(write);
      expect(sqliteErrorCode(error)).toBe('SQLITE_BUSY');
      expect(isUnavailableError(error)).toBe(true);
      expect((error as Error).message).toMatch(/writes are held for 500 ms more while the primary role is handed over/);
    }
    expect(db.prepare('select count(*) as n from t').get()).toEqual({ n: 1 });
    expect(db.prepare('select v from t').all()).toEqual([{ v: 1 }]);
  });

  it('ends when released or when its time is up', () => {
    const { db, hold, clock } = setup();
    const insert = db.prepare('insert into t (v) values (?)');
    hold.hold(500);
    expect(hold.held).toBe(true);
    expect(hold.hold(0)).toBe(0);
    insert.run([1]);
    hold.hold(500);
    clock.now += 499;
    expect(() => insert.run([2])).toThrow(/held for 1 ms more/);
    clock.now += 1;
    expect(hold.held).toBe(false);
    db.transaction(() => insert.run([3]));
    expect(db.prepare('select v from t order by v').all()).toEqual([{ v: 1 }, { v: 3 }]);
  });
});

import { ShardlineError } from '../core/errors.ts';
import type { SqlParams, SqliteDriver, SqliteStatement } from '../core/sqlite.ts';

/**
 * A pause of every write on the primary's connection while LiteFS hands the lease to another
 * node. LiteFS turns a database read-only the moment it hands off; a transaction that is
 * committing right then fails with "node lost write access during transaction" and LiteFS
 * exits (code 99) because SQLite cannot be told to roll back. So the node taking over asks the
 * primary to hold its writes first, and only then asks LiteFS to promote it.
 */
export class WriteHold {
  readonly #now: () => number;
  #until = 0;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Holds writes for `ms` from now (0 releases); returns how long they stay held. */
  hold(ms: number): number {
    this.#until = ms > 0 ? this.#now() + ms : 0;
    return this.remainingMs;
  }

  get remainingMs(): number {
    return Math.max(0, this.#until - this.#now());
  }

  get held(): boolean {
    return this.#until > this.#now();
  }

  /** Throws SQLITE_BUSY while held: writers treat it as "not now" and retry, losing nothing. */
  check(what: string): void {
    if (!this.held) return;
    const error = new ShardlineError('STORE_UNAVAILABLE', `Cannot ${what}: writes are held for ${this.#until - this.#now()} ms more while the primary role is handed over`);
    throw Object.assign(error, { sqliteCode: 'SQLITE_BUSY' });
  }
}

/** The connection with every write (exec, transactions, writing statements) refused while `hold` is on. */
export function holdableDriver(driver: SqliteDriver, hold: WriteHold): SqliteDriver {
  return {
    get path() {
      return driver.path;
    },
    get readonly() {
      return driver.readonly;
    },
    exec(sql) {
      hold.check('run SQL');
      driver.exec(sql);
    },
    prepare(sql) {
      return holdableStatement(driver.prepare(sql), hold);
    },
    transaction(fn) {
      hold.check('begin a transaction');
      return driver.transaction(fn);
    },
    close() {
      driver.close();
    },
  };
}

function holdableStatement(statement: SqliteStatement, hold: WriteHold): SqliteStatement {
  // A statement that may write (INSERT ... RETURNING reads rows too) is held on every call.
  const check = (): void => {
    if (statement.readonly !== true) hold.check('write');
  };
  return {
    get readonly() {
      return statement.readonly;
    },
    columns: () => statement.columns(),
    run(params?: SqlParams) {
      hold.check('write');
      return statement.run(params);
    },
    get(params?: SqlParams) {
      check();
      return statement.get(params);
    },
    all(params?: SqlParams) {
      check();
      return statement.all(params);
    },
    values(params?: SqlParams) {
      check();
      return statement.values(params);
    },
    iterateValues(params?: SqlParams) {
      check();
      return statement.iterateValues(params);
    },
  };
}

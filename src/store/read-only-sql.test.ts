import { describe, expect, it } from 'vitest';
import { isReadOnlyStatement } from './read-only-sql.ts';

describe('isReadOnlyStatement', () => {
  it.each([
    'SELECT * FROM guilds',
    '  select count(*) from members -- trailing comment',
    'SELECT 1;',
    "WITH g AS (SELECT id FROM guilds) SELECT * FROM g WHERE id <> 'DELETE FROM guilds; DROP TABLE x'",
    "SELECT replace(name, 'a', 'b'), CASE WHEN unavailable THEN 'x' ELSE 'y' END FROM guilds",
    'VALUES (1), (2)',
    'EXPLAIN QUERY PLAN SELECT * FROM members WHERE guild_id = ?',
    'PRAGMA table_info(guilds)',
    'PRAGMA main.index_list("members")',
    'PRAGMA user_version',
    'SELECT "update" FROM [weird table]',
  ])('accepts %s', (sql) => expect(isReadOnlyStatement(sql)).toBe(true));

  it.each([
    "INSERT INTO users (id, raw) VALUES ('1', '{}')",
    "UPDATE guilds SET name = 'x'",
    'DELETE FROM guilds',
    'DROP TABLE guilds',
    "ATTACH DATABASE '/tmp/x.db' AS x",
    'DETACH x',
    'PRAGMA journal_mode = DELETE',
    'PRAGMA journal_mode',
    'PRAGMA journal_mode(delete)',
    'PRAGMA user_version = 7',
    'PRAGMA writable_schema = 1',
    'PRAGMA locking_mode',
    'SELECT 1; DELETE FROM guilds',
    'SELECT 1; SELECT 2',
    'WITH x AS (SELECT 1) DELETE FROM guilds',
    'WITH x AS (SELECT 1) INSERT INTO users SELECT * FROM x',
    'REPLACE INTO users VALUES (1)',
    'CREATE TABLE t (a)',
    'BEGIN',
    'VACUUM',
    "SELECT 'unterminated",
    'SELECT 1 /* unterminated',
    '',
    '   -- only a comment',
  ])('refuses %s', (sql) => expect(isReadOnlyStatement(sql)).toBe(false));
});

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { formatTable } from '../../src/cli/format-table.ts';
import { CONFIG_SETTINGS } from '../../src/config/load-config.ts';
import type { Runtime } from '../../src/core/runtime.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { tempDir } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';

function fakeRuntime(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const signals = new Set<(signal: string) => void>();
  const runtime: Runtime = {
    ...createNodeRuntime(),
    argv,
    env,
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    onShutdownSignal: (listener) => {
      signals.add(listener);
      return () => signals.delete(listener);
    },
  };
  return { runtime, out: () => out.join(''), err: () => err.join(''), interrupt: () => [...signals].forEach((s) => s('SIGINT')) };
}

describe('shardline CLI', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('prints usage with every environment variable', async () => {
    const cli = fakeRuntime(['help']);
    expect(await runCli(cli.runtime)).toBe(0);
    for (const name of ['start', 'demo', 'query', 'fake-discord', 'DISCORD_TOKEN', 'SHARDLINE_ADMIN_TOKEN']) expect(cli.out()).toContain(name);
  });

  it('keeps every flag apart from its help text in the settings table', async () => {
    const cli = fakeRuntime(['help']);
    expect(await runCli(cli.runtime)).toBe(0);
    const flagged = CONFIG_SETTINGS.filter((s) => typeof s.flag === 'string');
    expect(flagged.length).toBeGreaterThan(0);
    for (const s of flagged) {
      const line = cli.out().split('\n').find((l) => l.trimStart().startsWith(`${s.env} `));
      expect(line, s.env).toMatch(new RegExp(`${s.flag}  +\\S`));
    }
  });

  it('refuses an unknown command with exit code 2', async () => {
    const cli = fakeRuntime(['strat']);
    expect(await runCli(cli.runtime)).toBe(2);
    expect(cli.err()).toContain('unknown command "strat"');
  });

  it('explains a missing token instead of printing a stack trace', async () => {
    const cli = fakeRuntime(['start']);
    expect(await runCli(cli.runtime)).toBe(2);
    expect(cli.err()).toMatch(/DISCORD_TOKEN is not set.*\[INVALID_CONFIG\]/s);
    expect(cli.err()).not.toMatch(/\n\s+at /);
  });

  it('queries a database read-only and refuses writes', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
    db.prepare("insert into guilds (id, shard_id, name, unavailable, raw, updated_at) values ('1', 0, 'alpha', 0, '{}', 0)").run();
    db.close();

    const ok = fakeRuntime(['query', '--data-dir', dir, 'select id, name from guilds where name = ?', 'alpha']);
    expect(await runCli(ok.runtime)).toBe(0);
    expect(ok.out()).toContain('alpha');
    expect(ok.out()).toContain('(1 row)');

    const json = fakeRuntime(['query', '--data-dir', dir, '--json', 'select count(*) as n from guilds']);
    expect(await runCli(json.runtime)).toBe(0);
    expect(JSON.parse(json.out())).toEqual({ columns: ['n'], rows: [[1]], truncated: false });

    const write = fakeRuntime(['query', '--data-dir', dir, 'delete from guilds']);
    expect(await runCli(write.runtime)).toBe(2);
    expect(write.err()).toContain('read-only');
    const after = fakeRuntime(['query', '--data-dir', dir, 'select count(*) as n from guilds']);
    await runCli(after.runtime);
    expect(after.out()).toMatch(/n\s*\n-+\n1\n/);
  });

  it('prints a BLOB as {"$blob": base64} in --json and as its size in a table, and refuses a result past --max-bytes', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
    db.close();
    const json = fakeRuntime(['query', '--data-dir', dir, '--json', "select x'00ff10' as b"]);
    expect(await runCli(json.runtime)).toBe(0);
    expect(JSON.parse(json.out())).toEqual({ columns: ['b'], rows: [[{ $blob: 'AP8Q' }]], truncated: false });
    const table = fakeRuntime(['query', '--data-dir', dir, "select x'00ff10' as b"]);
    expect(await runCli(table.runtime)).toBe(0);
    expect(table.out()).toContain('<3 bytes>');
    const big = fakeRuntime(['query', '--data-dir', dir, '--max-bytes', '1000', "select printf('%.*c', 5000, 'x')"]);
    expect(await runCli(big.runtime)).toBe(1);
    expect(big.err()).toMatch(/passed maxBytes \(1000 bytes as JSON\).*\[TOO_LARGE\]/s);
  });

  it('names the missing database file', async () => {
    const cli = fakeRuntime(['query', '--data-dir', '/nonexistent-shardline', 'select 1']);
    expect(await runCli(cli.runtime)).toBe(1);
    expect(cli.err()).toContain('No database at /nonexistent-shardline/shardline.db');
  });

  it('runs the demo and stops cleanly on SIGINT', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const cli = fakeRuntime(['demo', '--port', '0', '--guilds', '6', '--members', '5', '--shards', '2', '--data-dir', dir]);
    const exit = runCli(cli.runtime);
    await waitFor(() => cli.out().includes('admin token'), { timeoutMs: 20_000, message: 'demo started' });
    expect(cli.out()).toContain('2/2 ready');
    cli.interrupt();
    expect(await exit).toBe(0);
    expect(cli.out()).toContain('stopped; the database is kept at');
  });
});

describe('formatTable', () => {
  it('aligns columns, shows NULL and shortens long cells', () => {
    const text = formatTable(['id', 'name'], [[1, null], [22, 'x'.repeat(100)]], { maxWidth: 10 });
    expect(text.split('\n')).toEqual(['id | name', '---+-----------', '1  | NULL', `22 | ${'x'.repeat(9)}…`]);
  });
});

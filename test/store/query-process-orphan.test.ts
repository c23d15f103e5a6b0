import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { waitFor } from '../helpers/wait-for.ts';

const FIXTURE = fileURLToPath(new URL('./orphaned-query-fixture.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DENO = join(ROOT, 'node_modules/.bin/deno');

const RUNTIMES = [
  { name: 'Node', available: true, command: process.execPath, args: ['--import', 'tsx', FIXTURE] },
  { name: 'Deno', available: existsSync(DENO), command: DENO, args: ['run', '-A', '--no-check', FIXTURE] },
];

/** Gone, or a zombie nobody has reaped yet (an orphan's new parent may be an init that reaps late): either way it runs no more. */
function stopped(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

// /proc tells this test who the query process is and whether it still runs; elsewhere there is nothing to read it from.
describe.skipIf(process.platform !== 'linux')('a query process whose node was killed', () => {
  const leftovers: number[] = [];
  afterEach(() => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone: what the test wanted.
      }
    }
  });

  // Deno is skipped only where the deno npm package is not installed.
  for (const runtime of RUNTIMES) it.skipIf(!runtime.available)(`${runtime.name}: ends by itself, even inside a SQLite step that never returns`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shardline-orphan-'));
    try {
      const path = join(dir, 'shardline.db');
      const db = openDatabase({ path, driverFactory: betterSqlite3Driver });
      await runMigrations(db);
      db.close();

      const node = spawn(runtime.command, [...runtime.args, path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
      let out = '';
      node.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => node.once('exit', (_code, signal) => resolve(signal)));
      const line = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), { timeoutMs: 20_000, message: 'the query to start' });
      const { queryProcess } = JSON.parse(line) as { queryProcess: number[] };
      leftovers.push(...queryProcess);
      expect(queryProcess).toHaveLength(1);
      expect(await exited).toBe('SIGKILL');

      await waitFor(() => stopped(queryProcess[0]!), { timeoutMs: 10_000, message: `query process ${queryProcess[0]} to end after its node was killed` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

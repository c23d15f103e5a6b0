import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The Dockerfile ships `tsc -p tsconfig.build.json` output run by plain node, not the tsx
 * sources every other test imports. This compiles the app and runs a host from the output with
 * the working directory elsewhere (as LiteFS's exec does), so the transaction thread's own
 * entry (.js, no loader) is loaded the way production loads it.
 */
describe('the compiled build', () => {
  // Inside the project (gitignored) so the output resolves node_modules like dist/ does.
  mkdirSync(join(root, 'tmp'), { recursive: true });
  // Laid out like the image: <app>/dist next to <app>/migrations.
  const app = mkdtempSync(join(root, 'tmp', 'build-'));
  const outDir = join(app, 'dist');
  const elsewhere = mkdtempSync(join(tmpdir(), 'shardline-build-cwd-'));
  afterAll(() => {
    rmSync(app, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('runs a host whose funnel commits on the transaction thread and whose SQL runs on a query thread, from another working directory', async () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'], { cwd: root });
    cpSync(join(root, 'migrations'), join(app, 'migrations'), { recursive: true });
    const script = join(outDir, 'smoke.mjs');
    writeFileSync(
      script,
      `
import { FakeDiscord } from './discord-sim/fake-discord.js';
import { loadConfig } from './config/load-config.js';
import { createHost } from './host.js';
import { createNodeRuntime } from './runtime/node-runtime.js';
const discord = new FakeDiscord({ shards: 2, maxConcurrency: 2, identifySpacingMs: 0, world: { seed: 3, guilds: 6, membersPerGuild: 5 } });
await discord.start();
const config = loadConfig({ env: { DISCORD_TOKEN: 'fake-token', DISCORD_API_URL: discord.restUrl, SHARDLINE_DATA_DIR: ${JSON.stringify(join(elsewhere, 'data'))}, SHARDLINE_HTTP_PORT: '0', SHARDLINE_NODE_ID: 'built', SHARDLINE_FLUSH_MS: '20', SHARDLINE_LOG_LEVEL: 'warn', SHARDLINE_INTENTS: '3' } });
const host = createHost({ config, runtime: createNodeRuntime(), serveHttp: false, identifySpacingMs: 0 });
await host.start();
const deadline = Date.now() + 30000;
const guilds = () => Number(host.query('select count(*) from guilds').rows[0][0]);
while (guilds() < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const funnel = host.status().funnel;
const threaded = await host.runQuery('select count(*) from guilds');
const out = { shards: host.status().shards.map((s) => s.status), guilds: guilds(), queryThread: Number(threaded.rows[0][0]), thread: funnel.thread, transactions: funnel.transactions, failed: funnel.failedTransactions, lastError: funnel.lastError };
await host.close();
await discord.close();
console.log(JSON.stringify(out));
`,
    );
    const { stdout } = await run(process.execPath, [script], { cwd: elsewhere, timeout: 60_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({ shards: ['ready', 'ready'], guilds: 6, queryThread: 6, thread: true, failed: 0, lastError: null });
    expect(result['transactions']).toBeGreaterThan(0);
  });
});

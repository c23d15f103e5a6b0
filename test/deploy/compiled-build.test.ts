import { execFile, fork } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';

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
  let stopChild = async (): Promise<void> => {};
  afterAll(async () => {
    await stopChild();
    rmSync(app, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('runs a host whose funnel commits on the transaction thread and whose SQL runs on a query thread, from another working directory', async () => {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'], { cwd: root });
    cpSync(join(root, 'migrations'), join(app, 'migrations'), { recursive: true });
    const script = join(outDir, 'smoke.mjs');
    // The built host runs in a child process and answers the test's questions over IPC, so the
    // test waits for the state it asserts (waitFor) however slowly a busy machine gets there.
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
const answers = {
  status: () => {
    const funnel = host.status().funnel;
    return { shards: host.status().shards.map((s) => s.status), guilds: Number(host.query('select count(*) from guilds').rows[0][0]), thread: funnel.thread, transactions: funnel.transactions, failed: funnel.failedTransactions, lastError: funnel.lastError };
  },
  queryThread: async () => Number((await host.runQuery('select count(*) from guilds')).rows[0][0]),
  close: async () => {
    await host.close();
    await discord.close();
    return true;
  },
};
process.on('message', async ({ id, ask }) => {
  let reply;
  try {
    reply = { id, value: await answers[ask]() };
  } catch (error) {
    reply = { id, error: String(error?.stack ?? error) };
  }
  // After close nothing may keep the process alive: the test expects it to exit by itself.
  process.send(reply, () => { if (ask === 'close') process.disconnect(); });
});
process.send({ started: true });
`,
    );
    const child = fork(script, [], { cwd: elsewhere, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    stopChild = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    };
    // Questions sent before the host listens would be lost: wait for its hello first.
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message: { started?: boolean }) => message.started && resolve());
      child.once('exit', (code) => reject(new Error(`the built host exited (code ${code}) while starting; its output:\n${output}`)));
    });
    let nextId = 0;
    const ask = <T>(question: string): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const id = ++nextId;
        const onMessage = (message: { id?: number; value?: T; error?: string }): void => {
          if (message.id !== id) return;
          child.off('message', onMessage);
          child.off('exit', onExit);
          if (message.error !== undefined) reject(new Error(`the built host could not answer ${question}: ${message.error}`));
          else resolve(message.value as T);
        };
        const onExit = (code: number | null): void => {
          child.off('message', onMessage);
          reject(new Error(`the built host exited (code ${code}) before answering ${question}; its output:\n${output}`));
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        if (!child.connected) onExit(child.exitCode);
        else child.send({ id, ask: question });
      });

    type Status = { shards: string[]; guilds: number; thread: boolean; transactions: number; failed: number; lastError: string | null };
    let last: Status | undefined;
    const status = await waitFor(
      async () => {
        last = await ask<Status>('status');
        return last.guilds === 6 && last.transactions > 0 && last.shards.every((s) => s === 'ready') ? last : null;
      },
      { timeoutMs: 60_000, intervalMs: 50, message: () => `every guild cached and committed by the built host; last status ${JSON.stringify(last)}; output:\n${output}` },
    );
    expect(status).toMatchObject({ shards: ['ready', 'ready'], guilds: 6, thread: true, failed: 0, lastError: null });
    expect(status.transactions).toBeGreaterThan(0);
    expect(await ask<number>('queryThread')).toBe(6);
    await ask('close');
    expect(await exited).toBe(0);
  });
});

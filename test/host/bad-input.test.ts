import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importBot } from '../../src/bot-module.ts';
import { isShardlineError } from '../../src/core/errors.ts';
import type { SqliteDriver, SqliteDriverFactory } from '../../src/core/sqlite.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { handledBy, recordingBot, tempDir, testHost, type Recorded } from '../helpers/test-host.ts';

describe('a bad bot module gets INVALID_CONFIG naming the file', () => {
  let dir: string;
  const resolveModule = createNodeRuntime().resolveModule;

  beforeEach(() => {
    dir = tempDir('shardline-bot-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, source: string): string => {
    const path = join(dir, name);
    writeFileSync(path, source);
    return path;
  };

  it.each([
    ['a syntax error', 'syntax.mjs', 'export default { intents: 1, handlers: { READY() { } ;\n', /Cannot load bot module .*syntax\.mjs: /],
    ['no default export', 'no-default.mjs', 'export const intents = 1;\n', /Invalid bot module .*no-default\.mjs: the default export must be an object from defineBot/],
    ['a typo in a handler name', 'typo.mjs', 'export default { intents: 513, handlers: { MESSAGE_CRATE() {} } };\n', /Invalid bot module .*typo\.mjs:\n {2}- handlers\.MESSAGE_CRATE is not a gateway dispatch name \(did you mean MESSAGE_CREATE\?\)/],
    ['a module that throws while loading', 'throws.mjs', "throw new Error('no config for this bot');\n", /Cannot load bot module .*throws\.mjs: no config for this bot/],
  ])('%s', async (_what, name, source, message) => {
    const path = write(name, source);
    const error = await importBot(path, resolveModule).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isShardlineError(error, 'INVALID_CONFIG')).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(path);
  });

  it('a missing file names the path it looked for', async () => {
    const path = join(dir, 'nope.mjs');
    await expect(importBot(path, resolveModule)).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining(`Cannot load bot module ${path}`) });
  });

  it('a valid module loads (the cases above fail for their own reason)', async () => {
    const path = write('ok.mjs', 'export default { intents: 513, handlers: { MESSAGE_CREATE() {} } };\n');
    await expect(importBot(path, resolveModule)).resolves.toMatchObject({ intents: 513 });
  });
});

describe('a host with a token Discord rejects', () => {
  let discord: FakeDiscord;
  let dataDir: string;

  beforeEach(async () => {
    discord = new FakeDiscord({ token: 'the-right-token', shards: 2, identifySpacingMs: 10, heartbeatIntervalMs: 500 });
    await discord.start();
    dataDir = tempDir();
  });
  afterEach(async () => {
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('start() rejects with GATEWAY_FATAL about the token, without echoing it, and leaves nothing running', async () => {
    const host = testHost(discord, { dataDir, bot: recordingBot(), serveHttp: true, env: { DISCORD_TOKEN: 'a-wrong-token' } });
    const error = await host.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isShardlineError(error, 'GATEWAY_FATAL')).toBe(true);
    expect((error as Error).message).toMatch(/rejected the bot token/);
    expect((error as Error).message).toMatch(/DISCORD_TOKEN/);
    expect((error as Error).message).not.toContain('a-wrong-token');
    expect(host.status().node['state']).toBe('closed');
    expect(host.status().funnel).toBeNull();
    expect(host.status().shards).toEqual([]);
    expect(host.url).toBeNull();
    expect(discord.connections()).toEqual([]);
    expect(discord.stats.identifies).toBe(0);
    expect(() => host.query('select 1')).toThrow(/Cannot query: the host is closed/);
    await expect(host.start()).rejects.toMatchObject({ code: 'CONFLICT' });
    await host.close();
  });
});

/** A driver factory whose writer connection fails every transaction while `state.failWith` is set. */
function failingWrites(inner: SqliteDriverFactory): { factory: SqliteDriverFactory; state: { failWith: string | null; refused: number } } {
  const state = { failWith: null as string | null, refused: 0 };
  const factory: SqliteDriverFactory = (options) => {
    const driver = inner(options);
    if (options.readonly) return driver;
    const wrapped: SqliteDriver = {
      get path() {
        return driver.path;
      },
      get readonly() {
        return driver.readonly;
      },
      exec: (sql) => driver.exec(sql),
      prepare: (sql) => driver.prepare(sql),
      close: () => driver.close(),
      transaction: (fn) => {
        if (state.failWith !== null) {
          state.refused += 1;
          const message = state.failWith === 'SQLITE_FULL' ? 'database or disk is full' : 'attempt to write a readonly database';
          throw Object.assign(new Error(message), { code: state.failWith });
        }
        return driver.transaction(fn);
      },
    };
    return wrapped;
  };
  return { factory, state };
}

describe('a database that stops taking writes', () => {
  const SHARDS = 2;
  let discord: FakeDiscord;
  let dataDir: string;
  const hosts: Host[] = [];

  beforeEach(async () => {
    discord = new FakeDiscord({ shards: SHARDS, maxConcurrency: SHARDS, identifySpacingMs: 10, heartbeatIntervalMs: 300, world: { seed: 5, guilds: 16, membersPerGuild: 20 } });
    await discord.start();
    dataDir = tempDir();
  });
  /** Lifts the injected fault: a host closes only once its last writes can commit. */
  let liftFault = (): void => {};
  afterEach(async () => {
    liftFault();
    for (const host of hosts.splice(0)) await host.close();
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const sequenced = (): number => {
    let n = 0;
    for (let shardId = 0; shardId < SHARDS; shardId++) n += discord.ledger.eventCount(shardId);
    return n;
  };

  const committedSeqs = (host: Host): Map<number, { sessionId: string; seq: number }> =>
    new Map(host.query('SELECT shard_id, session_id, seq FROM shard_sessions').rows.map((r) => [Number(r[0]), { sessionId: String(r[1]), seq: Number(r[2]) }]));

  /** Every shard's committed seq is the last one its session sequenced. */
  const caughtUp = (host: Host): boolean => {
    const committed = committedSeqs(host);
    for (let shardId = 0; shardId < SHARDS; shardId++) {
      const last = discord.ledger.events(shardId).at(-1);
      const row = committed.get(shardId);
      if (!last || row?.sessionId !== last.sessionId || row.seq !== last.seq) return false;
    }
    return host.status().funnel?.queuedEntries === 0;
  };

  it.each(['SQLITE_FULL', 'SQLITE_READONLY'])('%s: the funnel reports STORE_UNAVAILABLE, shards wait, nothing is lost, and a restart resumes', { timeout: 90_000 }, async (sqliteCode) => {
    const recorded: Recorded[] = [];
    const { factory, state } = failingWrites(createNodeRuntime().sqlite);
    liftFault = () => {
      state.failWith = null;
    };
    const start = async (): Promise<Host> => {
      const host = testHost(discord, {
        dataDir,
        bot: recordingBot(undefined, recorded),
        sqlite: factory,
        funnelTuning: { highWaterRows: 400, flushThresholdRows: 200, retryBaseMs: 20, retryMaxMs: 200 },
      });
      hosts.push(host);
      await host.start();
      await waitFor(() => host.readiness().ready, { timeoutMs: 20_000, message: 'every shard ready' });
      return host;
    };

    const first = await start();
    discord.traffic.emit(300);
    await waitFor(() => caughtUp(first), { timeoutMs: 20_000, message: 'sessions committed before the fault' });
    const before = committedSeqs(first);

    state.failWith = sqliteCode;
    discord.traffic.emit(3000);
    const failing = await waitFor(() => {
      const funnel = first.status().funnel!;
      return funnel.lastError?.code === 'STORE_UNAVAILABLE' && funnel.consecutiveFailures >= 2 && funnel.blockedEnqueues > 0 ? funnel : null;
    }, { timeoutMs: 20_000, message: 'funnel failing and pushing back' });
    expect(failing.lastError!.message).toContain(sqliteCode);
    expect(failing.lastError!.message).toMatch(/kept queued, retrying/);
    expect(failing.lastError!.message).toContain(first.databasePath);
    // Back-pressure: the queue stays near its high-water mark, the bot is held back, the shards stay up.
    expect(failing.queuedRows).toBeLessThan(400 + 200 * SHARDS);
    expect(recorded.length).toBeLessThan(sequenced());
    expect(first.status().node['state']).toBe('running');
    // Nothing committed meanwhile: the sessions still say what they said before the fault.
    expect(committedSeqs(first)).toEqual(before);
    const refusedWhileFailing = state.refused;
    await waitFor(() => state.refused > refusedWhileFailing, { message: 'funnel keeps retrying' });
    // The shards stay up. Waited for, not sampled: a busy machine can miss a 300 ms heartbeat,
    // and the shard then reconnects and resumes, which is fine; a stopped one never comes back.
    await waitFor(() => first.status().shards.every((s) => s.status === 'ready' || s.status === 'resuming'), {
      message: () => `every shard ready or resuming while writes fail; now ${first.status().shards.map((s) => s.status).join(', ')}`,
    });

    state.failWith = null;
    await waitFor(() => recorded.length >= sequenced(), { timeoutMs: 30_000, message: 'bot caught up after the fault' });
    await waitFor(() => caughtUp(first), { timeoutMs: 30_000, message: 'every seq committed after the fault' });
    expect(first.status().funnel!.lastError).toBeNull();
    const identifies = discord.stats.identifies;

    await first.close();
    hosts.splice(hosts.indexOf(first), 1);
    discord.traffic.emit(200);
    const second = await start();
    discord.traffic.emit(200);
    await waitFor(() => recorded.length >= sequenced(), { timeoutMs: 30_000, message: 'second host caught up' });
    expect(discord.stats.identifies).toBe(identifies);
    expect(second.status().shards.every((s) => s.identifies === 0 && s.resumes === 1)).toBe(true);
    for (let shardId = 0; shardId < SHARDS; shardId++) {
      const check = discord.ledger.check(shardId, handledBy(recorded, shardId));
      expect(check.lost).toEqual([]);
      expect(check.duplicated).toEqual([]);
      expect(check.delivered).toBe(discord.ledger.eventCount(shardId));
    }
  });
});

/**
 * One embedded host (no LiteFS) on the Deno runtime, with its defaults: the write funnel
 * commits on a transaction thread (node:worker_threads + node:sqlite), as on Node.
 *   deno task test:deno
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { Host } from '../../src/host.ts';
import { createDenoRuntime } from '../../src/runtime/deno-runtime.ts';
import { captureLogger } from '../helpers/log-sink.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { recordingBot, type Handled } from './deno-cluster.ts';

declare const Deno: { test(name: string, fn: () => Promise<void>): void };

Deno.test('Deno embedded host: caches through its transaction thread, and a restart resumes every shard with nothing lost', async () => {
  const discord = new FakeDiscord({ shards: 2, maxConcurrency: 2, identifySpacingMs: 10, heartbeatIntervalMs: 500, world: { seed: 8, guilds: 12, membersPerGuild: 10 } });
  await discord.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'shardline-deno-host-'));
  const handled: Handled[] = [];
  const runtime = createDenoRuntime();
  const config = loadConfig({
    env: { DISCORD_TOKEN: 'fake-token', DISCORD_API_URL: discord.restUrl, SHARDLINE_DATA_DIR: dataDir, SHARDLINE_HTTP_PORT: '0', SHARDLINE_NODE_ID: 'deno-1', SHARDLINE_FLUSH_MS: '20' },
  });
  const make = (): Host =>
    new Host({ config, runtime, bot: recordingBot(handled), logger: captureLogger().logger, serveHttp: false, identifySpacingMs: 20, shardTuning: { invalidSessionDelayMs: { min: 10, max: 50 }, backoffBaseMs: 50, backoffCapMs: 500 } });
  let host = make();
  try {
    await host.start();
    const members = [...discord.world.guilds.values()].reduce((n, g) => n + g.members.size, 0);
    await waitFor(() => Number(host.query('select count(*) from members').rows[0]![0]) === members, { timeoutMs: 30_000, message: 'every member cached' });
    assert.equal(host.status().funnel?.thread, true, 'the funnel commits on its thread under Deno');
    // POST /query's path: a query worker with node:sqlite answers what the event loop's connection does.
    const threaded = await host.runQuery('select count(*) from members');
    assert.equal(Number(threaded.rows[0]![0]), members);
    assert.deepEqual(host.status().queries, { running: 0, waiting: 0, abandoned: 0, abandonedTotal: 0 });
    assert.deepEqual(host.status().botQueries, { running: 0, waiting: 0, abandoned: 0, abandonedTotal: 0 });
    assert.equal(typeof host.status().eventLoop.stalls, 'number');

    discord.traffic.emit(300);
    await host.close();
    assert.equal(discord.stats.identifies, 2);

    host = make();
    await host.start();
    await waitFor(() => host.readiness().ready, { timeoutMs: 30_000, message: 'the restarted host is ready' });
    discord.traffic.emit(300);
    await waitFor(() => [0, 1].every((s) => handled.filter((h) => h.shardId === s).length >= discord.ledger.events(s).length), { timeoutMs: 20_000, message: 'every event handled' });
    assert.equal(discord.stats.identifies, 2, 'the restart resumed both shards instead of identifying');
    for (const s of [0, 1]) {
      const check = discord.ledger.check(s, handled.filter((h) => h.shardId === s));
      assert.deepEqual(check.lost, [], `shard ${s} lost events`);
      assert.deepEqual(check.duplicated, [], `shard ${s} handled events twice`);
    }
    const funnel = host.status().funnel!;
    assert.equal(funnel.thread, true);
    assert.equal(funnel.failedTransactions, 0);
  } finally {
    await host.close();
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import type { TransactionWorkerFactory } from '../../src/core/transaction-worker.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { recordingBot, tempDir, testHost, type Recorded } from '../helpers/test-host.ts';

describe("host with writeFunnel: 'thread' against the simulator", () => {
  let discord: FakeDiscord;
  let dataDir: string;
  const hosts: Host[] = [];

  beforeEach(async () => {
    discord = new FakeDiscord({ shards: 2, maxConcurrency: 2, identifySpacingMs: 10, heartbeatIntervalMs: 500, world: { seed: 5, guilds: 10, membersPerGuild: 12 } });
    await discord.start();
    dataDir = tempDir();
  });

  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.close();
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('caches every guild and member, and commits each shard seq, through the transaction thread', async () => {
    const recorded: Recorded[] = [];
    const host = testHost(discord, { dataDir, bot: recordingBot(undefined, recorded), writeFunnel: 'thread' });
    hosts.push(host);
    await host.start();
    await waitFor(() => host.readiness().ready, { timeoutMs: 30_000 });
    const members = [...discord.world.guilds.values()].reduce((n, g) => n + g.members.size, 0);
    await waitFor(() => Number(host.query('select count(*) from members').rows[0]![0]) === members, { timeoutMs: 30_000, message: 'all members cached' });
    expect(Number(host.query('select count(*) from guilds').rows[0]![0])).toBe(discord.world.guilds.size);
    discord.traffic.emit(200);
    const committed = (): boolean => {
      const seqs = new Map(host.query('select shard_id, seq from shard_sessions').rows.map((r) => [Number(r[0]), Number(r[1])]));
      return host.status().shards.every((s) => s.seq !== null && seqs.get(s.shardId) === s.seq);
    };
    await waitFor(() => recorded.length >= discord.ledger.events(0).length + discord.ledger.events(1).length && committed(), { timeoutMs: 30_000, message: 'seqs committed' });
    const funnel = host.status().funnel!;
    expect(funnel.transactions).toBeGreaterThan(0);
    expect(funnel.failedTransactions).toBe(0);
  });

  it('keeps caching on the event loop when transaction threads cannot start on this machine', async () => {
    const broken: TransactionWorkerFactory = () => ({
      running: false,
      heapUsedBytes: null,
      run: () => Promise.resolve({ ok: false, sqliteCode: undefined, message: 'the transaction thread failed: no threads here' }),
      close: () => Promise.resolve(),
    });
    const host = testHost(discord, { dataDir, bot: recordingBot(), runtime: { ...createNodeRuntime(), transactionWorkers: broken } });
    hosts.push(host);
    await host.start();
    const members = [...discord.world.guilds.values()].reduce((n, g) => n + g.members.size, 0);
    await waitFor(() => Number(host.query('select count(*) from members').rows[0]![0]) === members, { timeoutMs: 30_000, message: 'all members cached on the fallback' });
    expect(host.status().funnel).toMatchObject({ thread: false, lastError: null });
  });
});

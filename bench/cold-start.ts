/**
 * Cold start: from nothing running to every shard READY and every guild cached, against the
 * floor Discord's identify buckets put under any client, ceil(shards / max_concurrency) x 5 s
 * (the last bucket may identify (buckets - 1) x 5 s after the first). Side by side in one run,
 * each against its own simulated Discord with the real 5 s bucket spacing:
 *
 *   shardline  a cluster of NODES nodes on a simulated LiteFS, with the host's own cluster
 *              timings; the primary grants identify slots to every node from one ledger
 *   discordjs  one discord.js v14 Client (shards 'auto', its own identify throttler)
 *
 *   npx tsx bench/cold-start.ts
 *   SHARDS=16 MAX_CONCURRENCY=4 NODES=3 GUILDS=400 MEMBERS=20 npx tsx bench/cold-start.ts (defaults)
 *
 * A client that waits longer than a bucket needs, or identifies too early (op 9 from the
 * simulator, then a retry), shows up as time above the floor and in the invalid-session count.
 */
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { BotDefinition } from '../src/bot.ts';
import { FakeDiscord } from '../src/discord-sim/fake-discord.ts';
import { formatTable } from '../src/cli/format-table.ts';
import { SimCluster } from '../test/helpers/sim-cluster.ts';
import { waitFor } from '../test/helpers/wait-for.ts';

const env = process.env;
const SHARDS = Number(env['SHARDS'] ?? 16);
const MAX_CONCURRENCY = Number(env['MAX_CONCURRENCY'] ?? 4);
const NODES = Number(env['NODES'] ?? 3);
const GUILDS = Number(env['GUILDS'] ?? 400);
const MEMBERS = Number(env['MEMBERS'] ?? 20);
const BUCKET_MS = 5_000;
const INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildMessages;

interface Result {
  client: string;
  readyMs: number;
  cachedMs: number;
  identifies: number;
  invalidSessions: number;
  note: string;
}

const world = { seed: 11, guilds: GUILDS, membersPerGuild: MEMBERS };
const discordOptions = { shards: SHARDS, maxConcurrency: MAX_CONCURRENCY, identifySpacingMs: BUCKET_MS, world };

async function shardline(): Promise<Result> {
  const bot: BotDefinition = { intents: INTENTS };
  const nodes = Array.from({ length: NODES }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
  // The host's own cluster timings (heartbeats 1 s, planner tick 250 ms, 1.5 s to settle), not the tests' fast ones.
  const cluster = new SimCluster({
    shardCount: SHARDS,
    bot,
    identifySpacingMs: BUCKET_MS,
    nodeTimeoutMs: 5_000,
    timing: { heartbeatMs: 1_000, reconcileMs: 250, tickMs: 250, settleMs: 1_500, maxConcurrentHandoffs: 1 },
    discord: discordOptions,
  });
  const t0 = performance.now();
  await cluster.start(nodes);
  try {
    const allReady = (): boolean => [...cluster.nodes.values()].flatMap((n) => n.host.runners()).filter((r) => r.shard.status === 'ready').length === SHARDS;
    await waitFor(allReady, { timeoutMs: 120_000, intervalMs: 10, message: 'every shard ready' });
    const readyMs = performance.now() - t0;
    const primary = await waitFor(() => cluster.primary());
    await waitFor(() => Number(primary.host.query('select count(*) from guilds').rows[0]![0]) === GUILDS, { timeoutMs: 120_000, intervalMs: 10, message: 'every guild committed' });
    const cachedMs = performance.now() - t0;
    const perNode = nodes.map((id) => `${id} ${cluster.node(id).host.runners().length}`).join(', ');
    return { client: `shardline (${NODES} node${NODES === 1 ? "" : "s"})`, readyMs, cachedMs, identifies: cluster.discord.stats.identifies, invalidSessions: cluster.discord.stats.invalidSessions, note: `shards per node: ${perNode}; guilds committed on the primary, ${primary.id}` };
  } finally {
    await cluster.close();
  }
}

async function discordjs(): Promise<Result> {
  const { Client, Events } = await import('discord.js');
  const discord = new FakeDiscord(discordOptions);
  await discord.start();
  const client = new Client({ intents: INTENTS, rest: { api: discord.restUrl }, shards: 'auto', waitGuildTimeout: 60_000 });
  let guilds = 0;
  let lastGuildAt = 0;
  client.on(Events.Raw, (packet: { t?: string }) => {
    if (packet.t === 'GUILD_CREATE') {
      guilds += 1;
      lastGuildAt = performance.now();
    }
  });
  try {
    const t0 = performance.now();
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login('fake-token');
    await ready;
    const readyMs = performance.now() - t0;
    await waitFor(() => guilds >= GUILDS, { timeoutMs: 120_000, intervalMs: 10, message: 'every guild received' });
    return { client: 'discord.js', readyMs, cachedMs: lastGuildAt - t0, identifies: discord.stats.identifies, invalidSessions: discord.stats.invalidSessions, note: `ClientReady (after its guilds arrived); ${client.guilds.cache.size} guilds cached in memory` };
  } finally {
    await client.destroy();
    await discord.close();
  }
}

async function main(): Promise<void> {
  if (![SHARDS, MAX_CONCURRENCY, NODES, GUILDS, MEMBERS].every((n) => Number.isInteger(n) && n > 0)) throw new Error('SHARDS, MAX_CONCURRENCY, NODES, GUILDS and MEMBERS must be positive integers');
  const buckets = Math.ceil(SHARDS / MAX_CONCURRENCY);
  const floorMs = buckets * BUCKET_MS;
  console.log(`cold start: ${SHARDS} shards, max_concurrency ${MAX_CONCURRENCY} (${buckets} buckets 5 s apart), ${GUILDS} guilds x ${MEMBERS} members, node ${process.version}`);
  console.log(`identify floor: ceil(${SHARDS} / ${MAX_CONCURRENCY}) x 5 s = ${floorMs / 1000} s (the last bucket may identify at ${((buckets - 1) * BUCKET_MS) / 1000} s)\n`);
  const results = [await shardline(), await discordjs()];
  const header = ['client', 'all READY s', 'all guilds s', 'READY / floor', 'IDENTIFYs', 'op 9'];
  const rows = results.map((r) => [r.client, (r.readyMs / 1000).toFixed(2), (r.cachedMs / 1000).toFixed(2), (r.readyMs / floorMs).toFixed(2), String(r.identifies), String(r.invalidSessions)]);
  console.log(formatTable(header, rows));
  for (const r of results) console.log(`  ${r.client}: ${r.note}`);
  const [s, d] = results as [Result, Result];
  console.log(`\nshardline / discord.js, time to all READY: ${(s.readyMs / d.readyMs).toFixed(2)}; to all guilds (committed to SQLite for shardline, in memory for discord.js): ${(s.cachedMs / d.cachedMs).toFixed(2)}`);
}

await main();

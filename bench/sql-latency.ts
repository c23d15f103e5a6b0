/**
 * SQL on any node: how long cache queries take on a replica while the cluster ingests, beside
 * the same queries on the primary in the same run, and how old the newest commit a replica can
 * see is. A 3-node cluster on a simulated LiteFS, RATE events/s of traffic, the host's default
 * flush interval (50 ms).
 *
 *   npx tsx bench/sql-latency.ts
 *   RATE=2000 ROUNDS=200 GUILDS=200 MEMBERS=100 npx tsx bench/sql-latency.ts (defaults)
 *
 * Each query runs ROUNDS times on each node two ways: `host.query()` (the event loop's read
 * connection, what `ctx.sql()` uses) and `host.runQuery()` (a query process, what `POST /query`
 * and `ctx.query()` use: it adds the trip to the process and back). Staleness is sampled every
 * 20 ms on the replica: now minus the newest `shard_sessions.updated_at` it can read (the time
 * the primary committed it), so it holds the flush interval, the commit and LiteFS's shipping.
 */
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { Host } from '../src/host.ts';
import { formatTable } from '../src/cli/format-table.ts';
import { SimCluster } from '../test/helpers/sim-cluster.ts';
import { waitFor } from '../test/helpers/wait-for.ts';
import { QUERIES, type CacheQuery as Query } from './cache-queries.ts';

const env = process.env;
const RATE = Number(env['RATE'] ?? 2_000);
const ROUNDS = Number(env['ROUNDS'] ?? 200);
const GUILDS = Number(env['GUILDS'] ?? 200);
const MEMBERS = Number(env['MEMBERS'] ?? 100);
const SHARDS = 6;
const NODES = ['node-a', 'node-b', 'node-c'];
const INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.GuildMessages;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summary(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

async function timeQuery(host: Host, query: Query, pick: () => { guildId: string; userId: string; roleId: string }, off: boolean): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const params = query.params(pick);
    const t = performance.now();
    if (off) await host.runQuery(query.sql, params, { maxRows: 1_000, timeoutMs: 5_000 });
    else host.query(query.sql, params, { maxRows: 1_000 });
    samples.push(performance.now() - t);
    // Yields between rounds, so the event loop also serves the shards and the funnel meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return summary(samples);
}

async function main(): Promise<void> {
  if (![RATE, ROUNDS, GUILDS, MEMBERS].every((n) => Number.isInteger(n) && n > 0)) throw new Error('RATE, ROUNDS, GUILDS and MEMBERS must be positive integers');
  console.log(`sql latency: ${NODES.length} nodes, ${SHARDS} shards, ${GUILDS} guilds x ${MEMBERS} members, ${RATE} events/s, ${ROUNDS} rounds per query, node ${process.version}\n`);
  const cluster = new SimCluster({
    shardCount: SHARDS,
    bot: { intents: INTENTS },
    identifySpacingMs: 0,
    env: { SHARDLINE_FLUSH_MS: '50' },
    timing: { heartbeatMs: 1_000, reconcileMs: 250, tickMs: 250, settleMs: 300 },
    discord: { maxConcurrency: SHARDS, identifySpacingMs: 0, world: { seed: 21, guilds: GUILDS, membersPerGuild: MEMBERS } },
  });
  await cluster.start(NODES);
  try {
    const primary = await waitFor(() => cluster.primary(), { timeoutMs: 30_000 });
    const replica = cluster.node(NODES.find((id) => id !== primary.id)!);
    for (const node of [primary, replica]) {
      await waitFor(() => Number(node.host.query('select count(*) from guilds').rows[0]![0]) === GUILDS, { timeoutMs: 120_000, message: `${node.id} has every guild` });
      // The first query starts the node's query process; that is not a query's time.
      await node.host.runQuery('select 1');
    }
    const guilds = [...cluster.discord.world.guilds.values()];
    let n = 0;
    const pick = () => {
      const guild = guilds[n++ % guilds.length]!;
      const userIds = [...guild.members.keys()];
      const roleIds = [...guild.roles.keys()];
      return { guildId: guild.id, userId: userIds[n % userIds.length]!, roleId: roleIds[n % roleIds.length]! };
    };

    cluster.discord.traffic.start({ eventsPerSecond: RATE });
    // Staleness, sampled on the replica for the whole measurement.
    const stale: number[] = [];
    const sampler = setInterval(() => {
      const newest = Number(replica.host.query('select max(updated_at) from shard_sessions').rows[0]![0]);
      if (newest > 0) stale.push(Date.now() - newest);
    }, 20);
    const rows: string[][] = [];
    try {
      for (const query of QUERIES) {
        const cells = [query.name];
        for (const off of [false, true]) {
          const onReplica = await timeQuery(replica.host, query, pick, off);
          const onPrimary = await timeQuery(primary.host, query, pick, off);
          cells.push(`${onReplica.p50.toFixed(2)} / ${onReplica.p99.toFixed(2)}`, `${onPrimary.p50.toFixed(2)} / ${onPrimary.p99.toFixed(2)}`, (onReplica.p50 / onPrimary.p50).toFixed(2));
        }
        rows.push(cells);
      }
    } finally {
      clearInterval(sampler);
      cluster.discord.traffic.stop();
    }

    const header = ['query (ms p50 / p99)', 'replica, loop', 'primary, loop', 'ratio', 'replica, process', 'primary, process', 'ratio'];
    console.log(formatTable(header, rows));
    const s = summary(stale);
    console.log(`\nreplica staleness (now - newest commit it can read), ${stale.length} samples: p50 ${s.p50} ms, p99 ${s.p99} ms, max ${Math.max(...stale)} ms`);
    console.log(`primary ${primary.id}, replica ${replica.id}; "loop" is host.query() / ctx.sql(), "process" is host.runQuery() / POST /query / ctx.query(); ratio = replica p50 / primary p50`);
  } finally {
    await cluster.close();
  }
}

await main();

/**
 * Failover time: a 3-node cluster (simulated Discord, simulated LiteFS) under traffic; one
 * node is killed abruptly (no cleanup, its lease not released) and the bench times how long
 * until every shard it ran delivers events again on another node. Beside it, in the same
 * run, the floor any heartbeat-based detector has (nodeTimeout), and the IDENTIFY floor a
 * peer that re-identifies lost shards pays (ceil(shards / max_concurrency) x 5 s).
 *
 *   npx tsx bench/failover.ts      (RUNS=3 NODE_TIMEOUT_MS=5000 npx tsx bench/failover.ts)
 *
 * Both a replica and the primary are killed in turn; the primary case also waits for the
 * lease to expire (the simulated lease TTL, LEASE_TTL_MS) before a new primary can reassign.
 */
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { BotDefinition } from '../src/bot.ts';
import { SimCluster } from '../test/helpers/sim-cluster.ts';
import { waitFor } from '../test/helpers/wait-for.ts';

const RUNS = Number(process.env['RUNS'] ?? 3);
const NODE_TIMEOUT_MS = Number(process.env['NODE_TIMEOUT_MS'] ?? 5_000);
const LEASE_TTL_MS = Number(process.env['LEASE_TTL_MS'] ?? 2_000);
const RATE = Number(process.env['RATE'] ?? 300);
const SHARDS = 6;
const NODES = ['node-a', 'node-b', 'node-c'];
const INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent;

interface Handled { node: string; shardId: number; sessionId: string; seq: number; at: number }

async function once(victimRole: 'replica' | 'primary'): Promise<{ recoveryMs: number; lost: number; duplicated: number; identifies: number }> {
  const handled: Handled[] = [];
  const botFor = (node: string): BotDefinition => ({
    intents: INTENTS,
    onDispatch(event) {
      if (event.seq !== null) handled.push({ node, shardId: event.shardId, sessionId: event.sessionId, seq: event.seq, at: performance.now() });
    },
  });
  const cluster = await new SimCluster({ shardCount: SHARDS, botFor, nodeTimeoutMs: NODE_TIMEOUT_MS, leaseTtlMs: LEASE_TTL_MS, timing: { heartbeatMs: 1_000 }, discord: { maxConcurrency: SHARDS, world: { seed: 6, guilds: 60, membersPerGuild: 20 } } }).start(NODES);
  try {
    await waitFor(() => cluster.running().size === SHARDS && NODES.every((id) => cluster.node(id).host.runners().filter((r) => r.shard.status === 'ready').length === 2), { timeoutMs: 60_000 }).catch((error: unknown) => {
      throw new Error(`cluster did not settle: ${JSON.stringify(NODES.map((id) => [id, cluster.node(id).host.runners().map((r) => `${r.shardId}:${r.shard.status}`)]))}`, { cause: error });
    });
    const identifies = cluster.discord.stats.identifies;
    cluster.discord.traffic.start({ eventsPerSecond: RATE });
    await waitFor(() => handled.length > RATE);
    const primary = cluster.primary()!.id;
    const victim = victimRole === 'primary' ? primary : NODES.find((id) => id !== primary)!;
    const orphaned = cluster.node(victim).host.runners().map((r) => r.shardId);
    const killedAt = performance.now();
    await cluster.kill(victim);
    const recovered = await waitFor(() => {
      const firsts = orphaned.map((s) => handled.find((h) => h.shardId === s && h.node !== victim && h.at > killedAt));
      return firsts.every(Boolean) ? Math.max(...firsts.map((h) => h!.at)) : null;
    }, { timeoutMs: 60_000 });
    cluster.discord.traffic.stop();
    const expected = (): number => Array.from({ length: SHARDS }, (_, s) => cluster.discord.ledger.events(s).length).reduce((a, b) => a + b, 0);
    await waitFor(() => new Set(handled.map((h) => `${h.shardId}:${h.sessionId}:${h.seq}`)).size >= expected(), { timeoutMs: 30_000 });
    let lost = 0;
    let duplicated = 0;
    for (let s = 0; s < SHARDS; s++) {
      const check = cluster.discord.ledger.check(s, handled.filter((h) => h.shardId === s));
      lost += check.lost.length;
      duplicated += check.duplicated.length;
    }
    return { recoveryMs: recovered - killedAt, lost, duplicated, identifies: cluster.discord.stats.identifies - identifies };
  } finally {
    await cluster.close();
  }
}

const rows: string[] = [];
const summary: Record<string, number[]> = { replica: [], primary: [] };
for (const role of ['replica', 'primary'] as const) {
  for (let run = 0; run < RUNS; run++) {
    const r = await once(role);
    summary[role]!.push(r.recoveryMs);
    rows.push(`${`kill ${role}`.padEnd(14)} ${String(run + 1).padStart(3)} ${r.recoveryMs.toFixed(0).padStart(12)} ${String(r.lost).padStart(6)} ${String(r.duplicated).padStart(6)} ${String(r.identifies).padStart(10)}`);
  }
}
console.log(`failover, ${RATE} events/s over ${SHARDS} shards, 3 nodes; nodeTimeout ${NODE_TIMEOUT_MS} ms, simulated lease TTL ${LEASE_TTL_MS} ms`);
console.log(`${'scenario'.padEnd(14)} ${'run'.padStart(3)} ${'recovery ms'.padStart(12)} ${'lost'.padStart(6)} ${'dup'.padStart(6)} ${'identifies'.padStart(10)}`);
for (const row of rows) console.log(row);
const worst = (xs: number[]): number => Math.max(...xs);
const identifyFloor = Math.ceil(2 / 1) * 5_000;
console.log(`replica kill: worst ${worst(summary['replica']!).toFixed(0)} ms = ${(worst(summary['replica']!) / NODE_TIMEOUT_MS).toFixed(2)} x nodeTimeout (goal < nodeTimeout + 1 s = ${NODE_TIMEOUT_MS + 1000} ms)`);
console.log(`primary kill: worst ${worst(summary['primary']!).toFixed(0)} ms (includes the lease TTL of ${LEASE_TTL_MS} ms before a new primary can act)`);
console.log(`peer floor (re-identify the 2 lost shards at max_concurrency 1): detection + ${identifyFloor} ms; shardline resumes instead: 0 identifies`);
process.exit(0);

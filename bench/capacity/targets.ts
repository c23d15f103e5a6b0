/**
 * The clusters bench/cluster-capacity.ts measures, behind one small interface: three real
 * shardline processes on real LiteFS + Consul (test/litefs's ShardlineCluster), or three
 * Hosts in this process on the simulated LiteFS (test/helpers' SimCluster). Either way the
 * simulated Discord runs in this process, and status and SQL go through each node's admin API.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { HostStatus } from '../../src/host/host-status.ts';
import { ADMIN_TOKEN as SIM_ADMIN_TOKEN, SimCluster } from '../../test/helpers/sim-cluster.ts';
import { REPO_ROOT, liteFsPrerequisites } from '../../test/litefs/prerequisites.ts';
import { ShardlineCluster } from '../../test/litefs/shardline-cluster.ts';
import capacityBot from './capacity-bot.ts';

export interface TargetOptions {
  readonly shards: number;
  readonly guilds: number;
  readonly members: number;
  readonly seed: number;
}

export interface CapacityTarget {
  readonly engine: 'litefs' | 'sim';
  readonly discord: FakeDiscord;
  readonly nodes: readonly string[];
  status(node: string): Promise<HostStatus>;
  /** POST /query on the node: its own database (a replica's LiteFS copy, or the primary's). */
  query(node: string, sql: string, params?: unknown[]): Promise<unknown[][]>;
  /** Where the node's database lives (the FUSE mount on real LiteFS). */
  dataDir(node: string): string;
  /**
   * CPU time (ms) the cluster has used so far: the nodes' processes and their LiteFS daemons
   * (real LiteFS), or this process, where everything runs (simulated LiteFS; the simulated
   * Discord included).
   */
  cpuMs(): number;
  /** Every shard ready on exactly one node, and every node running at least one: shard -> node. */
  settled(): Promise<Map<number, string>>;
  close(): Promise<void>;
}

/** The nodes' settings that differ from a production node: none but the bot and the simulated Discord's address. */
const NODE_ENV = { SHARDLINE_FLUSH_MS: '50', SHARDLINE_LOG_LEVEL: 'warn' };

/** Discord's own heartbeat interval: the bench overloads nodes on purpose, and a 1 s interval would turn that into reconnects. */
const discordOptions = (o: TargetOptions) => ({ heartbeatIntervalMs: 41_250, maxConcurrency: o.shards, world: { seed: o.seed, guilds: o.guilds, membersPerGuild: o.members } });

async function post(url: string, token: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function rowsOf(node: string, reply: { status: number; json: Record<string, unknown> }): unknown[][] {
  if (reply.status !== 200) throw new Error(`POST /query on ${node} answered ${reply.status}: ${JSON.stringify(reply.json)}`);
  return reply.json['rows'] as unknown[][];
}

/**
 * A keep-alive socket the node closed just as a request went out fails with "other side
 * closed"; the request is sent again (twice at most), anything else is thrown.
 */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 3 || !(error instanceof TypeError && /fetch failed/.test(error.message))) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** CPU ms of every process in these process groups (each LiteFS node runs as its own group, its app inside). */
function groupCpuMs(groups: readonly number[]): number {
  const wanted = new Set(groups);
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 5 (pgrp), 14 and 15 (utime, stime in clock ticks of 10 ms) of proc(5), counted from the state field.
      if (wanted.has(Number(fields[2]))) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks * 10;
}

/** Every node runs as many shards as any other, give or take one: the planner's placement, so it moves nothing during the steps. */
function balanced(owners: Map<number, string>, nodes: readonly string[]): boolean {
  const counts = nodes.map((n) => [...owners.values()].filter((o) => o === n).length);
  return Math.max(...counts) - Math.min(...counts) <= 1;
}

function single(owners: Map<number, string[]>): Map<number, string> {
  return new Map([...owners].map(([shard, nodes]) => [shard, nodes[0]!]));
}

export async function startLiteFsTarget(o: TargetOptions): Promise<CapacityTarget> {
  const cluster = await ShardlineCluster.start({
    tools: liteFsPrerequisites(),
    shards: o.shards,
    discord: discordOptions(o),
    env: { ...NODE_ENV, SHARDLINE_BOT: join(REPO_ROOT, 'bench', 'capacity', 'capacity-bot.ts') },
  });
  return {
    engine: 'litefs',
    discord: cluster.discord,
    nodes: cluster.hostnames,
    status: (node) => retried(() => cluster.status(node)),
    query: async (node, sql, params = []) => {
      const reply = await retried(() => cluster.admin(node, 'POST', '/query', { sql, params, timeoutMs: 10_000 }, 30_000));
      return rowsOf(node, reply);
    },
    dataDir: (node) => cluster.litefs.node(node).mountDir,
    cpuMs: () => groupCpuMs(cluster.hostnames.map((h) => cluster.litefs.pid(h)).filter((pid): pid is number => pid !== null)),
    settled: async () => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const owners = single(await cluster.settled({ spread: true, timeoutMs: 120_000 }));
        if (balanced(owners, cluster.hostnames)) return owners;
        if (Date.now() > deadline) throw new Error(`the cluster did not balance its shards: ${[...owners].map(([s, n]) => `${s}:${n}`).join(' ')}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    close: async () => {
      // A node that died during the run is worth knowing about before its logs are deleted.
      try {
        cluster.assertRunning();
      } catch (error) {
        console.error(String(error));
      }
      await cluster.close();
    },
  };
}

export async function startSimTarget(o: TargetOptions): Promise<CapacityTarget> {
  const nodes = ['n1', 'n2', 'n3'];
  const cluster = new SimCluster({
    shardCount: o.shards,
    bot: capacityBot,
    identifySpacingMs: 0,
    env: NODE_ENV,
    // Production's: SimCluster's 1.5 s (for quick failover tests) declared nodes dead whenever the
    // one event loop that carries all three nodes and the simulator ran late by that much.
    nodeTimeoutMs: 5_000,
    // The host's production cluster timings (SimCluster's defaults are tuned for quick tests).
    timing: { heartbeatMs: 1_000, reconcileMs: 250, tickMs: 250, settleMs: 1_500 },
    discord: { ...discordOptions(o), identifySpacingMs: 0 },
  });
  await cluster.start(nodes);
  const host = (node: string) => cluster.node(node).host;
  return {
    engine: 'sim',
    discord: cluster.discord,
    nodes,
    status: async (node) => host(node).status(),
    query: async (node, sql, params = []) => rowsOf(node, await retried(() => post(host(node).url!, SIM_ADMIN_TOKEN, { sql, params, timeoutMs: 10_000 }))),
    dataDir: (node) => cluster.node(node).litefs.mountDir,
    cpuMs: () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    },
    settled: async () => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const owners = cluster.running();
        const ready = nodes.every((n) => host(n).readiness().ready);
        const exact = Array.from({ length: o.shards }, (_, s) => owners.get(s)?.length === 1).every(Boolean);
        if (ready && exact && balanced(single(owners), nodes)) return single(owners);
        if (Date.now() > deadline) throw new Error(`the simulated cluster did not settle: ${cluster.dump()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    close: () => cluster.close(),
  };
}

/**
 * REST limits across a cluster (contract 12). Three nodes whose handlers together offer three
 * times the token's global limit (Discord's 50/s) for DURATION_MS, each request with a
 * DEADLINE_MS deadline, against the simulated Discord that enforces the global limit, the
 * per-route buckets and their headers. The simulator runs in a process of its own, as Discord
 * runs elsewhere: requests reach it when its event loop reads them, not when the nodes'
 * (busy with three hosts) would:
 *
 *   shardline  a 3-node SimCluster (simulated LiteFS, 1 s heartbeats): the primary leases each
 *              node its share, nodes spend it locally; ctx.rest is @discordjs/rest.
 *   peer       three uncoordinated @discordjs/rest clients, one per node, as every node ran
 *              before: each believes it alone spends the token's 50/s.
 *
 * Then the overhead on a request's path: a single-node shardline host's ctx.rest against one
 * uncontended @discordjs/rest on the same simulator (limits far out of reach), requests
 * alternated, added latency = p50(shardline) - p50(@discordjs/rest).
 *
 *   flock /tmp/shardline-bench.lock npx tsx bench/rest-limits.ts
 *   (DURATION_MS=20000 DEADLINE_MS=5000 LATENCY_REQUESTS=1000)
 *
 * Ends with one JSON line: {"bench":"rest-limits","nodes":3,"globalLimit":50,...}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { formatTable } from '../src/cli/format-table.ts';
import { FakeDiscord, NODE_HEADER, type FakeDiscordOptions, type RestStatsSnapshot } from '../src/discord-sim/fake-discord.ts';
import { generateWorld } from '../src/discord-sim/world-generator.ts';
import type { Host } from '../src/host.ts';
import { RestLoad, type NodeLoad } from '../test/helpers/rest-load.ts';
import { SimCluster } from '../test/helpers/sim-cluster.ts';
import { tempDir, testHost } from '../test/helpers/test-host.ts';
import { waitFor } from '../test/helpers/wait-for.ts';

const LIMIT = 50;
const NODES = ['node-a', 'node-b', 'node-c'] as const;
const DURATION_MS = Number(process.env['DURATION_MS'] ?? 20_000);
const DEADLINE_MS = Number(process.env['DEADLINE_MS'] ?? 5_000);
const LATENCY_REQUESTS = Number(process.env['LATENCY_REQUESTS'] ?? 1_000);
/** 60 guilds, 240 text channels: 240 buckets of 5 per 5 s, far more than the global limit needs. */
const WORLD = { seed: 17, guilds: 60, membersPerGuild: 5 };

interface Phase {
  readonly name: string;
  readonly offered: number;
  readonly answered: number;
  readonly answeredInWindow: number;
  readonly rejected: number;
  readonly lost: number;
  readonly global429: number;
  readonly route429: number;
  readonly invalid: number;
  readonly p50Ms: number;
}

function channelsOf(world: Pick<FakeDiscord['world'], 'guilds'>): string[] {
  return [...world.guilds.values()].flatMap((g) => [...g.channels.values()].filter((c) => c.type === 0).map((c) => c.id)).sort();
}

/** `shardline fake-discord` in a child process; its world is the one WORLD's seed generates here too. */
class SimProcess {
  readonly restUrl: string;
  readonly #child: ChildProcess;

  private constructor(restUrl: string, child: ChildProcess) {
    this.restUrl = restUrl;
    this.#child = child;
  }

  static async start(): Promise<SimProcess> {
    const args = ['--import', 'tsx', 'src/runtime/node-main.ts', 'fake-discord', '--port', '0', '--guilds', String(WORLD.guilds), '--members', String(WORLD.membersPerGuild), '--seed', String(WORLD.seed)];
    args.push('--global-limit', String(LIMIT), '--identify-spacing-ms', '50', '--heartbeat-ms', '1000', '--max-concurrency', '6');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: new URL('..', import.meta.url).pathname });
    const lines = createInterface({ input: child.stdout! });
    const restUrl = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`fake-discord exited with ${code} before printing its URL`)));
    });
    lines.on('line', () => {});
    return new SimProcess(restUrl, child);
  }

  async restStats(): Promise<RestStatsSnapshot> {
    return (await (await fetch(`${this.restUrl.replace(/\/api$/, '')}/_sim/rest/stats`)).json()) as RestStatsSnapshot;
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
  }
}

function newLoad(channels: () => string[]): RestLoad {
  return new RestLoad({
    perNodePerSecond: LIMIT,
    durationMs: DURATION_MS,
    deadlineMs: DEADLINE_MS,
    channelsFor: (nodeId) => channels().filter((_, i) => i % NODES.length === NODES.indexOf(nodeId as (typeof NODES)[number])),
  });
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function settle(load: RestLoad, nodes: readonly string[]): Promise<void> {
  await waitFor(() => load.totals(nodes).pending === 0, { timeoutMs: DEADLINE_MS + 30_000, message: 'every offered request ended' }).catch(() => {});
}

function phase(name: string, stats: RestStatsSnapshot, totals: NodeLoad): Phase {
  const total = stats.total;
  return {
    name,
    offered: totals.offered,
    answered: totals.answered,
    answeredInWindow: totals.answeredInWindow,
    rejected: totals.deadline + totals.aborted + totals.closed,
    // Not answered, not rejected at its deadline: pending at the end, or a 429 or network error that reached the caller.
    lost: totals.pending + totals.failed,
    global429: total.rateLimited.global,
    route429: total.rateLimited.user + total.rateLimited.shared + total.rateLimited.sublimit,
    invalid: total.invalid,
    p50Ms: percentile(totals.latencies, 50),
  };
}

async function shardlinePhase(): Promise<Phase> {
  const channels = channelsOf(generateWorld(WORLD));
  const load = newLoad(() => channels);
  const sim = await SimProcess.start();
  const cluster = new SimCluster({
    shardCount: 6,
    nodeTimeoutMs: 5_000,
    timing: { heartbeatMs: 1_000 },
    discordApiUrl: sim.restUrl,
    env: { SHARDLINE_REST_GLOBAL_LIMIT: String(LIMIT), SHARDLINE_FLUSH_MS: '50' },
    botFor: (id) => load.bot(id),
  });
  try {
    await cluster.start(NODES);
    await waitFor(() => load.ready(NODES), { timeoutMs: 60_000, message: 'every node handed its ctx.rest over' });
    await waitFor(() => NODES.every((id) => cluster.node(id).host.restBudget()?.client.status().source === 'lease'), { timeoutMs: 20_000, message: 'every node holds a lease' });
    const before = await sim.restStats();
    await load.run();
    await settle(load, NODES);
    const after = await sim.restStats();
    const view = cluster.primary()?.host.restBudget()?.status().cluster;
    if (view) console.log(`primary's last allocation: ${view.nodes.map((n) => `${n.id} ${n.share}`).join(', ')} of ${view.limit}`);
    return phase('shardline (shared budget)', minus(after, before), load.totals());
  } finally {
    await cluster.close();
    await sim.close();
  }
}

/** What the simulator answered between two snapshots (the hosts' start-up requests left out). */
function minus(after: RestStatsSnapshot, before: RestStatsSnapshot): RestStatsSnapshot {
  const a = after.total;
  const b = before.total;
  const scopes = { global: a.rateLimited.global - b.rateLimited.global, user: a.rateLimited.user - b.rateLimited.user, shared: a.rateLimited.shared - b.rateLimited.shared, sublimit: a.rateLimited.sublimit - b.rateLimited.sublimit };
  return { ...after, total: { requests: a.requests - b.requests, ok: a.ok - b.ok, rateLimited: scopes, invalid: a.invalid - b.invalid, banned: a.banned - b.banned } };
}

async function peerPhase(): Promise<Phase> {
  const sim = await SimProcess.start();
  const channels = channelsOf(generateWorld(WORLD));
  const load = newLoad(() => channels);
  const rests = NODES.map((id) => new REST({ api: sim.restUrl, version: '10', headers: { [NODE_HEADER]: id } }).setToken('fake-token'));
  try {
    NODES.forEach((id, i) => load.use(id, rests[i]!));
    await load.run();
    await settle(load, NODES);
    return phase('peer (3 x @discordjs/rest)', await sim.restStats(), load.totals());
  } finally {
    for (const rest of rests) {
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
    }
    await sim.close();
  }
}

/** p50 and p99 of request latency, shardline's ctx.rest against one plain client, alternated on one simulator. */
async function latencyPhase(): Promise<{ plain: number[]; shardline: number[] }> {
  // Every request reads a channel no other request of the phase reads (4 text channels a guild):
  // no bucket ever holds two, so no figure includes a bucket's wait however fast the machine.
  const WARM = 20;
  const guilds = Math.ceil((2 * (LATENCY_REQUESTS + WARM)) / 4) + 1;
  const options: FakeDiscordOptions = { identifySpacingMs: 0, world: { seed: 19, guilds, membersPerGuild: 3 }, rest: { globalLimit: 1_000_000 } };
  const discord = new FakeDiscord(options);
  await discord.start();
  const dataDir = tempDir();
  let ctxRest: REST | undefined;
  const host: Host = testHost(discord, { dataDir, env: { SHARDLINE_REST_GLOBAL_LIMIT: '100000' }, bot: { intents: 1, shardReady: (_i, ctx) => void (ctxRest = ctx.rest) } });
  const plain = new REST({ api: discord.restUrl, version: '10', globalRequestsPerSecond: 100_000 }).setToken('fake-token');
  try {
    await host.start();
    const shardline = await waitFor(() => ctxRest, { message: 'ctx.rest' });
    const channels = channelsOf(discord.world);
    const times = { plain: [] as number[], shardline: [] as number[] };
    const clients = [['plain', plain], ['shardline', shardline]] as const;
    if (channels.length < 2 * (LATENCY_REQUESTS + WARM)) throw new Error(`the latency phase needs ${2 * (LATENCY_REQUESTS + WARM)} text channels, the world has ${channels.length}`);
    // Warm both (connections), then alternate.
    for (let i = 0; i < 2 * (LATENCY_REQUESTS + WARM); i += 1) {
      const [name, rest] = clients[i % 2]!;
      const started = performance.now();
      await rest.get(Routes.channel(channels[i]!));
      if (i >= 2 * WARM) times[name].push(performance.now() - started);
    }
    if (discord.restStats.total.rateLimited.user + discord.restStats.total.rateLimited.global > 0) throw new Error('the latency phase met a limit: its figures would include a wait');
    return times;
  } finally {
    plain.clearHashSweeper();
    plain.clearHandlerSweeper();
    await host.close();
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`REST limits: ${NODES.length} nodes offering ${NODES.length * LIMIT}/s (${NODES.length}x the global limit of ${LIMIT}/s) for ${DURATION_MS / 1000} s, deadline ${DEADLINE_MS} ms per request`);
  const shardline = await shardlinePhase();
  const peer = await peerPhase();
  const latency = await latencyPhase();
  const seconds = DURATION_MS / 1000;
  const rows = [shardline, peer].map((p) => [
    p.name,
    (p.offered / seconds).toFixed(1),
    (p.answeredInWindow / seconds).toFixed(2),
    (p.answeredInWindow / seconds / LIMIT).toFixed(3),
    p.global429,
    p.route429,
    p.invalid,
    p.answered,
    p.rejected,
    p.lost,
    p.p50Ms.toFixed(0),
  ]);
  console.log(formatTable(['run', 'offered/s', 'achieved/s', 'of limit', 'global 429', 'route 429', 'invalid', 'answered', 'rejected', 'lost', 'p50 ms'], rows));
  const [plainP50, slP50] = [percentile(latency.plain, 50), percentile(latency.shardline, 50)];
  console.log(`\nper-request latency, uncontended (${LATENCY_REQUESTS} each, alternated): @discordjs/rest p50 ${plainP50.toFixed(3)} ms p99 ${percentile(latency.plain, 99).toFixed(3)} ms; shardline ctx.rest p50 ${slP50.toFixed(3)} ms p99 ${percentile(latency.shardline, 99).toFixed(3)} ms`);
  console.log('achieved/s counts answers within the offering window; rejected = requests that reached their deadline unsent (shardline: TIMEOUT) or that the library gave up on when their signal aborted (peer); lost = neither answered nor rejected at its deadline (still pending, or a 429 or network error handed to the caller).');
  const json = {
    bench: 'rest-limits',
    nodes: NODES.length,
    globalLimit: LIMIT,
    offeredPerSec: Number((shardline.offered / seconds).toFixed(1)),
    achievedPerSec: Number((shardline.answeredInWindow / seconds).toFixed(2)),
    ratioOfLimit: Number((shardline.answeredInWindow / seconds / LIMIT).toFixed(3)),
    global429: shardline.global429,
    route429: shardline.route429,
    lost: shardline.lost,
    peerAchievedPerSec: Number((peer.answeredInWindow / seconds).toFixed(2)),
    peerGlobal429: peer.global429,
    addedLatencyP50Ms: Number((slP50 - plainP50).toFixed(3)),
  };
  console.log(JSON.stringify(json));
}

await main();

/**
 * How much traffic a 3-node cluster on real LiteFS + Consul carries with the cache committed.
 *
 *   npx tsx bench/cluster-capacity.ts            (needs root, /dev/fuse and the tools: scripts/install-tools.sh)
 *   LITEFS_BIN=... CONSUL_BIN=... SHARDS=12 GUILDS=400 MEMBERS=50 START=1000 FACTOR=1.5 STEP_SECONDS=8 npx tsx bench/cluster-capacity.ts
 *
 * Three shardline processes, each exec'd by its own LiteFS node (test/litefs's harness: real
 * LiteFS, real Consul, loopback), shards spread over all three, production settings (flush
 * 50 ms, the default funnel) but for a bot that does nothing in its handlers. The simulated
 * Discord runs in this process in replay mode: each step's events are generated and encoded
 * before the step, then played at the step's rate, so generating traffic takes no CPU the
 * nodes need. Traffic rises by FACTOR per step until the cluster falls behind: how far the
 * primary's committed seqs trail what was sent grows over the step (sampled every 250 ms) or
 * exceeds a second of traffic at its end, the primary commits less than 90% of what the step
 * sent, or the write funnel holds shards back (back-pressure). One more step between the last that
 * held and the first that did not refines the figure.
 *
 * Then, in the same run: a step at half the highest rate with staleness sampled (every 25 ms,
 * each node that does not run a shard reads its committed seq; staleness is that moment minus
 * the simulator's send of each event), and another with the bench/sql-latency.ts queries timed
 * on each replica through POST /query; the raw ceiling of the primary's FUSE mount (a plain upsert
 * loop, bench/capacity/raw-upserts.ts) at the cluster's transaction rate; and the same cluster
 * on the simulated LiteFS (plain files, every node in this process), stepped the same way.
 *
 * Goals (issue 19): rowsPerSec >= 0.7x rawFuseRowsPerSec at the same transaction rate;
 * staleness p99 < 250 ms at half of maxEventsPerSec.
 *
 * Ends with one JSON line: {"bench":"cluster-capacity","engine":"litefs","nodes":3,"maxEventsPerSec":...,
 * "rowsPerSec":...,"txPerSec":...,"rawFuseRowsPerSec":...,"simEngineMaxEventsPerSec":...,"stalenessP50Ms":...,
 * "stalenessP99Ms":...,"replicaQueryP50Ms":...}
 */
import { formatTable } from '../src/cli/format-table.ts';
import { QUERIES } from './cache-queries.ts';
import { CACHE_TABLES } from '../src/core/mutation.ts';
import { rawRowsAtTxRate, rawUpsertCurve, type RawCurve } from './capacity/raw-upserts.ts';
import { drain, runStep, type StepResult } from './capacity/steps.ts';
import { startLiteFsTarget, startSimTarget, type CapacityTarget, type TargetOptions } from './capacity/targets.ts';

const env = process.env;
const OPTIONS: TargetOptions = {
  shards: Number(env['SHARDS'] ?? 12),
  guilds: Number(env['GUILDS'] ?? 400),
  members: Number(env['MEMBERS'] ?? 50),
  seed: Number(env['SEED'] ?? 42),
};
const START = Number(env['START'] ?? 1_000);
const FACTOR = Number(env['FACTOR'] ?? 1.5);
const STEP_SECONDS = Number(env['STEP_SECONDS'] ?? 8);
const MAX_STEPS = Number(env['MAX_STEPS'] ?? 12);
const QUERY_ROUNDS = Number(env['QUERY_ROUNDS'] ?? 60);
const ENGINES = (env['ENGINES'] ?? 'litefs,sim').split(',');

const quantile = (values: readonly number[], q: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

interface EngineRun {
  readonly steps: StepResult[];
  readonly max: StepResult | null;
  readonly half: StepResult | null;
  readonly queries: { name: string; node: string; p50: number; p99: number; samples: number[] }[];
  readonly raw: RawCurve | null;
}

const reconnects = (step: StepResult): string =>
  step.resumes + step.identifies === 0 ? '' : `, shards reconnected (${step.resumes} resumed, ${step.identifies} identified)`;

/**
 * Before a step the cluster commits everything sent. One that cannot within two minutes (a node
 * lost for good after an overload) ends the engine's steps: said here, not thrown, so the run
 * still reports what it measured.
 */
async function caughtUp(target: CapacityTarget): Promise<boolean> {
  try {
    await drain(target, OPTIONS.shards);
    return true;
  } catch (error) {
    console.log(`  [${target.engine}] stopped stepping: ${(error as Error).message}`);
    return false;
  }
}

/** Rates rise by FACTOR until a step falls behind; then one step between the last two refines it. */
async function stepUp(target: CapacityTarget, owners: Map<number, string>): Promise<{ steps: StepResult[]; max: StepResult | null }> {
  const steps: StepResult[] = [];
  let good: StepResult | null = null;
  let bad: StepResult | null = null;
  let rate = START;
  const run = async (r: number): Promise<StepResult | null> => {
    if (!(await caughtUp(target))) return null;
    const step = await runStep(target, Math.round(r), { seconds: STEP_SECONDS, owners });
    steps.push(step);
    console.log(`  [${target.engine}] ${fmt(step.rate)} events/s: committed ${fmt(step.committedPerSec)}/s, ${fmt(step.rowsPerSec)} rows/s, ${fmt(step.txPerSec, 1)} tx/s, cluster CPU ${step.clusterCores.toFixed(2)} cores, funnel busy ${Math.round(step.funnelBusy * 100)}%, lag at end ${fmt(step.endLag)}, max queue ${fmt(step.maxQueuedRows)} rows${step.pushedBack ? ', back-pressure' : ''}${step.growing ? ', lag growing' : ''}${reconnects(step)}: ${step.sustained ? 'held' : 'fell behind'}`);
    return step;
  };
  for (let i = 0; i < MAX_STEPS; i++) {
    const step = await run(rate);
    if (!step) return { steps, max: good };
    if (!step.sustained) {
      bad = step;
      break;
    }
    good = step;
    rate *= FACTOR;
  }
  if (good && bad) {
    const mid = await run(Math.sqrt(good.rate * bad.rate));
    if (mid?.sustained) good = mid;
  }
  return { steps, max: good };
}

async function timeQueries(target: CapacityTarget, replicas: readonly string[]): Promise<EngineRun['queries']> {
  const guilds = [...target.discord.world.guilds.values()];
  let n = 0;
  const pick = () => {
    const guild = guilds[n++ % guilds.length]!;
    const userIds = [...guild.members.keys()];
    const roleIds = [...guild.roles.keys()];
    return { guildId: guild.id, userId: userIds[n % userIds.length]!, roleId: roleIds[n % roleIds.length]! };
  };
  const out: EngineRun['queries'] = [];
  for (const node of replicas) {
    await target.query(node, 'select 1'); // starts the node's query process: not a query's time
    for (const query of QUERIES) {
      const samples: number[] = [];
      for (let i = 0; i < QUERY_ROUNDS; i++) {
        const t = performance.now();
        await target.query(node, query.sql, query.params(pick));
        samples.push(performance.now() - t);
      }
      out.push({ name: query.name, node, p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), samples });
    }
  }
  return out;
}

async function measure(target: CapacityTarget, withRaw: boolean): Promise<EngineRun> {
  const owners = await target.settled();
  console.log(`  [${target.engine}] shards by node: ${target.nodes.map((n) => `${n} ${[...owners.values()].filter((o) => o === n).length}`).join(', ')}`);
  const primary = (await Promise.all(target.nodes.map(async (n) => ((await target.status(n)).funnel ? n : null)))).find((n) => n !== null)!;
  // Every guild committed before the first step.
  const deadline = Date.now() + 300_000;
  while (Number((await target.query(primary, 'select count(*) from guilds'))[0]![0]) < OPTIONS.guilds) {
    if (Date.now() > deadline) throw new Error('the world did not reach the primary within 5 minutes');
    await new Promise((r) => setTimeout(r, 250));
  }
  const { steps, max } = await stepUp(target, owners);
  let half: StepResult | null = null;
  let queries: EngineRun['queries'] = [];
  if (max && (await caughtUp(target))) {
    // Staleness at half the highest rate; then SQL on the replicas during another such step (apart,
    // so that the queries do not wait behind the staleness polls for the node's query slot).
    half = await runStep(target, Math.round(max.rate / 2), { seconds: Math.max(STEP_SECONDS, 10), owners, stalenessPollMs: 25 });
    console.log(`  [${target.engine}] half rate ${fmt(half.rate)} events/s: staleness p50 ${fmt(quantile(half.stalenessMs, 0.5))} ms, p99 ${fmt(quantile(half.stalenessMs, 0.99))} ms over ${fmt(half.stalenessMs.length)} event-node pairs${reconnects(half)}; ${half.sustained ? 'held' : 'fell behind'}`);
    if (await caughtUp(target)) {
      const replicas = target.nodes.filter((n) => n !== primary);
      const traffic = runStep(target, Math.round(max.rate / 2), { seconds: Math.max(STEP_SECONDS, 10), owners });
      queries = await timeQueries(target, replicas);
      await traffic;
    }
  }
  let raw: RawCurve | null = null;
  if (withRaw) {
    // The raw table holds as much as the cluster's cache: as many rows, in as many pages.
    const [[pages]] = (await target.query(primary, 'SELECT page_count FROM pragma_page_count()')) as [[number]];
    const [[rows]] = (await target.query(primary, `SELECT ${CACHE_TABLES.map((t) => `(SELECT count(*) FROM ${t})`).join(' + ')}`)) as [[number]];
    raw = rawUpsertCurve(target.dataDir(primary), [250, 1_000, 4_000, 16_000, 64_000], { rows: Number(rows), pages: Number(pages) });
    console.log(`  [${target.engine}] raw loop: ${fmt(raw.rows)} rows of about ${fmt(raw.rowBytes)} bytes on ${fmt(raw.pages)} pages; the cluster's cache: ${fmt(Number(rows))} rows on ${fmt(Number(pages))} pages`);
  }
  return { steps, max, half, queries, raw };
}

function report(engine: string, run: EngineRun): void {
  console.log(`\n${engine}: steps`);
  console.log(
    formatTable(
      ['events/s sent', 'committed/s', 'handled/s', 'rows/s', 'tx/s', 'rows/tx', 'cluster CPU (cores)', 'funnel busy', 'lag at end', 'max queue rows', 'result'],
      run.steps.map((s) => [fmt(s.rate), fmt(s.committedPerSec), fmt(s.handledPerSec), fmt(s.rowsPerSec), fmt(s.txPerSec, 1), fmt(s.rowsPerSec / s.txPerSec), s.clusterCores.toFixed(2), `${Math.round(s.funnelBusy * 100)}%`, fmt(s.endLag), fmt(s.maxQueuedRows), s.resumes + s.identifies > 0 ? 'reconnected' : s.pushedBack ? 'back-pressure' : s.growing ? 'lag growing' : s.sustained ? 'held' : 'fell behind']),
    ),
  );
  if (run.queries.length > 0) {
    console.log(`\n${engine}: replica SQL through POST /query at half rate (ms)`);
    console.log(formatTable(['query', 'node', 'p50', 'p99'], run.queries.map((q) => [q.name, q.node, q.p50.toFixed(2), q.p99.toFixed(2)])));
  }
  if (run.raw) {
    console.log(`\n${engine}: raw upsert loop on the primary's mount (${fmt(run.raw.rows)} rows on ${fmt(run.raw.pages)} pages)`);
    console.log(formatTable(['rows/tx', 'ms/tx', 'rows/s', 'tx/s'], run.raw.points.map((p) => [fmt(p.rowsPerTx), p.msPerTx.toFixed(1), fmt(p.rowsPerSec), fmt(p.txPerSec, 1)])));
  }
}

async function main(): Promise<void> {
  if (![OPTIONS.shards, OPTIONS.guilds, OPTIONS.members, START, STEP_SECONDS, MAX_STEPS, QUERY_ROUNDS].every((n) => Number.isInteger(n) && n > 0) || !(FACTOR > 1)) {
    throw new Error('SHARDS, GUILDS, MEMBERS, START, STEP_SECONDS, MAX_STEPS and QUERY_ROUNDS must be positive integers, FACTOR above 1');
  }
  console.log(`cluster capacity: 3 nodes, ${OPTIONS.shards} shards, ${OPTIONS.guilds} guilds x ${OPTIONS.members} members, steps of ${STEP_SECONDS} s from ${START} events/s (x${FACTOR}), node ${process.version}`);
  const runs = new Map<string, EngineRun>();
  for (const engine of ENGINES) {
    if (engine !== 'litefs' && engine !== 'sim') throw new Error(`Unknown ENGINES entry ${engine}; known: litefs, sim`);
    const target = engine === 'litefs' ? await startLiteFsTarget(OPTIONS) : await startSimTarget(OPTIONS);
    try {
      runs.set(engine, await measure(target, engine === 'litefs'));
    } finally {
      await target.close();
    }
    report(engine === 'litefs' ? 'real LiteFS + Consul' : 'simulated LiteFS (plain files)', runs.get(engine)!);
  }

  const litefs = runs.get('litefs');
  const sim = runs.get('sim');
  const max = litefs?.max ?? null;
  const rawAtRate = max && litefs!.raw ? rawRowsAtTxRate(litefs!.raw.points, max.txPerSec) : Number.NaN;
  const staleness = litefs?.half?.stalenessMs ?? [];
  const replicaSamples = litefs?.queries.flatMap((q) => q.samples) ?? [];
  console.log('');
  if (max) {
    console.log(`highest sustained on real LiteFS: ${fmt(max.rate)} events/s (${fmt(max.rowsPerSec)} rows/s in ${fmt(max.txPerSec, 1)} tx/s)`);
    console.log(`raw upserts on the same mount at ${fmt(max.txPerSec, 1)} tx/s: ${fmt(rawAtRate)} rows/s; cluster / raw: ${(max.rowsPerSec / rawAtRate).toFixed(2)} (goal >= 0.70) ${max.rowsPerSec >= 0.7 * rawAtRate ? 'MET' : 'MISSED'}`);
    const p99 = quantile(staleness, 0.99);
    console.log(`staleness at half rate (${fmt(litefs!.half?.rate ?? Number.NaN)} events/s): p50 ${fmt(quantile(staleness, 0.5))} ms, p99 ${fmt(p99)} ms (goal p99 < 250) ${p99 < 250 ? 'MET' : 'MISSED'}`);
  }
  if (sim?.max) console.log(`the same cluster on the simulated LiteFS: ${fmt(sim.max.rate)} events/s (${fmt(sim.max.rowsPerSec)} rows/s in ${fmt(sim.max.txPerSec, 1)} tx/s)`);
  const simReplica = sim?.queries.flatMap((q) => q.samples) ?? [];
  if (replicaSamples.length > 0 && simReplica.length > 0) console.log(`replica SQL p50, FUSE mount / plain file: ${(quantile(replicaSamples, 0.5) / quantile(simReplica, 0.5)).toFixed(2)}`);
  const round = (n: number, digits = 0): number | null => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : null);
  console.log(
    JSON.stringify({
      bench: 'cluster-capacity',
      engine: 'litefs',
      nodes: 3,
      maxEventsPerSec: round(max?.rate ?? Number.NaN),
      rowsPerSec: round(max?.rowsPerSec ?? Number.NaN),
      txPerSec: round(max?.txPerSec ?? Number.NaN, 1),
      rawFuseRowsPerSec: round(rawAtRate),
      simEngineMaxEventsPerSec: round(sim?.max?.rate ?? Number.NaN),
      stalenessP50Ms: round(quantile(staleness, 0.5)),
      stalenessP99Ms: round(quantile(staleness, 0.99)),
      replicaQueryP50Ms: round(quantile(replicaSamples, 0.5), 2),
    }),
  );
}

await main();

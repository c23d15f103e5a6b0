/**
 * Rolling deploy on real LiteFS + Consul: 3 shardline nodes (test/litefs/shardline-cluster.ts,
 * the suite's harness) restarted one after the other as Fly.io does, under traffic. Each node
 * gets SIGTERM through LiteFS (which passes it to shardline and waits), exits, starts again,
 * and the next waits until the cluster has settled with shards on every node. The primary is
 * restarted too (first, and again whenever the lease has moved to the next node in line).
 *
 * Two phases in one run, on fresh clusters:
 *   graceful   shardline's graceful leave (contract 11): the lease handed on, every shard moved by resume;
 *   baseline   the same restarts with the leave off (SHARDLINE_LEAVE_TIMEOUT_MS=0): a plain stop,
 *              the shards detached and failed over by resume after nodeTimeout.
 *
 * gap = per shard and per change of node, the time between the last dispatch handled before
 * the move and the first after (both stamped by the nodes' bots with the same machine clock).
 * It includes up to one inter-event interval of the traffic (RATE over SHARDS shards).
 *
 *   flock /tmp/shardline-bench.lock npx tsx bench/rolling-deploy.ts
 *   SHARDS=6 RATE=300 PHASES=graceful,baseline flock /tmp/shardline-bench.lock npx tsx bench/rolling-deploy.ts
 *
 * Needs root, FUSE and the LiteFS and Consul binaries (LITEFS_BIN, CONSUL_BIN, or
 * scripts/install-tools.sh), as `npm run test:litefs` does.
 *
 * Ends with one JSON line: {"bench":"rolling-deploy","nodes":3,"restarts":3,"lost":...,"duplicated":...,
 * "identifies":...,"gapP50Ms":...,"gapP99Ms":...,"gapMaxMs":...,"primaryHandoffMs":...,"baselineGapP99Ms":...}
 */
import { waitFor } from '../test/helpers/wait-for.ts';
import { liteFsPrerequisites } from '../test/litefs/prerequisites.ts';
import { moveGaps, percentile, rollingRestart, type RestartTurn } from '../test/litefs/rolling-restart.ts';
import { ShardlineCluster } from '../test/litefs/shardline-cluster.ts';

const SHARDS = Number(process.env['SHARDS'] ?? 6);
const RATE = Number(process.env['RATE'] ?? 300);
const PHASES = (process.env['PHASES'] ?? 'graceful,baseline').split(',').map((p) => p.trim()) as ('graceful' | 'baseline')[];
/** fly.toml's kill_timeout. */
const KILL_TIMEOUT_MS = 30_000;
const NODES = ['n1', 'n2', 'n3'];

interface PhaseResult {
  readonly phase: string;
  readonly turns: RestartTurn[];
  readonly gaps: number[];
  readonly lost: number;
  readonly duplicated: number;
  readonly identifies: number;
  readonly tookMs: number;
}

async function phase(name: 'graceful' | 'baseline'): Promise<PhaseResult> {
  const tools = liteFsPrerequisites();
  const c = await ShardlineCluster.start({
    tools,
    shards: SHARDS,
    // The leave's default timeout under fly.toml's kill_timeout; 0 turns it off.
    env: { SHARDLINE_LEAVE_TIMEOUT_MS: name === 'graceful' ? '25000' : '0' },
  });
  try {
    await c.settled({ spread: true });
    c.markBaseline();
    c.discord.traffic.start({ eventsPerSecond: RATE });
    await waitFor(() => c.records().length > RATE, { timeoutMs: 30_000, message: `${RATE} dispatches handled` });
    const identifies = c.discord.stats.identifies;
    const started = Date.now();
    const turns = await rollingRestart(c, {
      order: NODES,
      killAfterMs: KILL_TIMEOUT_MS,
      onTurn: (t) => console.error(`  ${name}: ${t.hostname}${t.wasPrimary ? ' (primary)' : ''} stopped in ${t.stopMs} ms (exit ${String(t.exitCode)}${t.killed ? ', SIGKILLed' : ''}), leave ${t.leave ? `${t.leave.outcome} in ${t.leave.tookMs} ms` : 'none'}, settled again ${t.rejoinMs} ms after its restart`),
    });
    const tookMs = Date.now() - started;
    c.assertRunning();
    const records = await c.drainTraffic(60_000);
    let lost = 0;
    let duplicated = 0;
    for (const check of c.ledgerChecks(records)) {
      lost += check.lost.length;
      duplicated += check.duplicated.length;
    }
    // Moves of the deploy only: the cluster may still have been settling before it began.
    const moves = moveGaps(records).filter((m) => m.at - m.gapMs >= started).sort((a, b) => a.at - b.at);
    for (const m of moves) console.error(`  ${name}: shard ${m.shardId} ${m.from} -> ${m.to}: gap ${m.gapMs} ms, ${((m.at - started) / 1000).toFixed(1)} s into the deploy`);
    return { phase: name, turns, gaps: moves.map((g) => g.gapMs), lost, duplicated, identifies: c.discord.stats.identifies - identifies, tookMs };
  } finally {
    await c.close();
  }
}

const results = new Map<string, PhaseResult>();
for (const name of PHASES) {
  console.error(`phase ${name}: 3 nodes, ${SHARDS} shards, ${RATE} events/s, SIGTERM through LiteFS, SIGKILL after ${KILL_TIMEOUT_MS} ms`);
  results.set(name, await phase(name));
}

const fmt = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '-');
console.log(`rolling deploy on real LiteFS + Consul: 3 nodes restarted in turn (n1 first, the primary), ${SHARDS} shards, ${RATE} events/s`);
console.log(`${'phase'.padEnd(10)} ${'moves'.padStart(6)} ${'gap p50'.padStart(8)} ${'gap p99'.padStart(8)} ${'gap max'.padStart(8)} ${'lost'.padStart(5)} ${'dup'.padStart(5)} ${'identifies'.padStart(10)} ${'deploy s'.padStart(9)}  leaves (ms; primary handoff)`);
for (const r of results.values()) {
  const leaves = r.turns.map((t) => `${t.hostname}${t.wasPrimary ? '*' : ''} ${t.leave ? `${t.leave.outcome} ${t.leave.tookMs}${t.leave.primaryHandoffMs !== null ? `; ${t.leave.primaryHandoffMs}` : ''}` : '-'}`).join(', ');
  console.log(
    `${r.phase.padEnd(10)} ${String(r.gaps.length).padStart(6)} ${fmt(percentile(r.gaps, 50)).padStart(8)} ${fmt(percentile(r.gaps, 99)).padStart(8)} ${fmt(Math.max(...r.gaps)).padStart(8)} ${String(r.lost).padStart(5)} ${String(r.duplicated).padStart(5)} ${String(r.identifies).padStart(10)} ${(r.tookMs / 1000).toFixed(1).padStart(9)}  ${leaves}`,
  );
}
const graceful = results.get('graceful');
const baseline = results.get('baseline');
if (graceful && baseline) {
  console.log(`baseline / graceful gap p99: ${(percentile(baseline.gaps, 99) / percentile(graceful.gaps, 99)).toFixed(1)}x`);
}
if (graceful) {
  const p99 = percentile(graceful.gaps, 99);
  console.log(`goals: lost 0 (${graceful.lost}), identifies 0 (${graceful.identifies}), gap p99 < 250 ms (${fmt(p99)}): ${graceful.lost === 0 && graceful.identifies === 0 && p99 < 250 ? 'MET' : 'MISSED'}`);
  const handoffs = graceful.turns.flatMap((t) => (t.leave?.primaryHandoffMs === null || t.leave?.primaryHandoffMs === undefined ? [] : [t.leave.primaryHandoffMs]));
  console.log(
    JSON.stringify({
      bench: 'rolling-deploy',
      nodes: NODES.length,
      restarts: graceful.turns.length,
      lost: graceful.lost,
      duplicated: graceful.duplicated,
      identifies: graceful.identifies,
      gapP50Ms: Math.round(percentile(graceful.gaps, 50)),
      gapP99Ms: Math.round(p99),
      gapMaxMs: Math.round(Math.max(...graceful.gaps)),
      primaryHandoffMs: handoffs.length > 0 ? Math.max(...handoffs) : null,
      baselineGapP99Ms: baseline ? Math.round(percentile(baseline.gaps, 99)) : null,
    }),
  );
}
process.exit(0);

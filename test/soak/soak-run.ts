/**
 * One soak run: a cluster under steady traffic, the seeded schedule of faults applied as it
 * comes due, every invariant checked all the way through (the simulator's connections every
 * 25 ms, the nodes' databases every 200 ms, the ledger every 2 s and on every handled event),
 * then everything healed, and the end state checked: nothing lost, every node's cache equal to
 * the simulated world. The first violation stops the run.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../src/core/abort.ts';
import { cacheVsWorld } from '../helpers/cache-vs-world.ts';
import { FaultApplier } from './fault-applier.ts';
import { FaultLog } from './fault-log.ts';
import { ConnectionCheck } from './invariants/connection-check.ts';
import { DeliveryCheck } from './invariants/delivery-check.ts';
import { FenceCheck } from './invariants/fence-check.ts';
import { IdentifyBudgetCheck } from './invariants/identify-budget-check.ts';
import { IdentifyCheck } from './invariants/identify-check.ts';
import { OwnershipCheck } from './invariants/ownership-check.ts';
import { InvariantViolation } from './invariants/violation.ts';
import { NodeDatabases } from './node-databases.ts';
import { describeStep, generateSchedule, type Step } from './schedule.ts';
import { SoakCluster } from './soak-cluster.ts';
import type { FromWorker } from './soak-shared.ts';

export interface SoakOptions {
  readonly seed: number;
  readonly faults?: number;
  readonly minutes?: number;
  readonly nodes: number;
  readonly shards: number;
  readonly eventsPerSecond: number;
  readonly dir: string;
  readonly keepDir: boolean;
  /** Print each fault as it is applied. */
  readonly verbose?: boolean;
  readonly print: (line: string) => void;
}

export interface SoakResult {
  readonly soak: 'sim';
  readonly seed: number;
  readonly nodes: number;
  readonly faults: number;
  readonly byKind: Record<string, number>;
  readonly minutes: number;
  readonly eventsHandled: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly maxOverlapMs: number;
  readonly identifiesUnplanned: number;
  readonly cacheEqualsWorld: boolean;
}

/** Timings of the cluster under test (test-fast, as the simulated-cluster tests use). */
export const SOAK_TIMING = {
  nodeTimeoutMs: 1_500,
  leaseTtlMs: 1_000,
  lockDelayMs: 100,
  heartbeatIntervalMs: 1_000,
  leaveTimeoutMs: 8_000,
  cluster: { heartbeatMs: 200, reconcileMs: 50, tickMs: 50, settleMs: 300 },
} as const;

const SESSION_START_TOTAL = 1_000;

export class SoakFailure extends Error {
  constructor(
    readonly violation: Error,
    readonly report: string,
  ) {
    super(violation.message);
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const schedule = generateSchedule({ seed: o.seed, ...(o.faults === undefined ? {} : { faults: o.faults }), ...(o.minutes === undefined ? {} : { minutes: o.minutes }) });
  const t = SOAK_TIMING;
  // The bounds the invariants allow (see connection-check.ts): an election, the new primary's grace, detection, the move.
  const unownedMs = t.leaseTtlMs + t.lockDelayMs + 2 * t.nodeTimeoutMs + t.cluster.settleMs + 3_000;
  const overlapMs = 1.5 * t.heartbeatIntervalMs + 1_000;
  const aftermathMs = 10_000;
  const log = new FaultLog();
  const abort = new AbortController();
  let violation: Error | null = null;
  const fail = (error: Error): void => {
    if (violation) return;
    violation = error;
    abort.abort(error);
  };
  const identify = new IdentifyCheck({ faults: log, aftermathMs });
  const ownership = new OwnershipCheck();
  const fence = new FenceCheck();
  const budget = new IdentifyBudgetCheck({ total: SESSION_START_TOTAL, reserve: Math.min(50, Math.floor(SESSION_START_TOTAL * 0.05)) });
  const heldOnPrimary = (from: number, to: number): number =>
    log.applied
      .filter((f) => !f.skipped && (f.target.endsWith('(primary)') || f.step.kind === 'diskFull' || f.step.kind === 'diskSlow'))
      .reduce((sum, f) => sum + Math.max(0, Math.min(to, f.endedAt ?? to) - Math.max(from, f.at)), 0);
  const connections = new ConnectionCheck({
    faults: log,
    overlapMs,
    unownedMs,
    primaryHeldMs: heldOnPrimary,
    blindUntil: (from, to) => {
      const cuts = log.applied.filter((f) => !f.skipped && f.step.kind === 'cutLiteFs' && f.at <= to && (f.endedAt ?? Number.POSITIVE_INFINITY) >= from);
      return cuts.length === 0 ? null : Math.max(...cuts.map((f) => f.endedAt ?? Number.POSITIVE_INFINITY));
    },
  });

  const nodeIds = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  // Set once the cluster (and its ledger) exists; no node posts before.
  let delivery: DeliveryCheck;
  const onMessage = (node: string, message: FromWorker): void => {
    if (violation) return;
    try {
      if (message.type === 'handled') {
        const [shardId, sessionId, seq, tName, at] = message.r;
        delivery.record({ node, shardId, sessionId, seq, t: tName, at });
      } else if (message.type === 'shard-ready' && !message.resumed) {
        identify.identifiedBy(message.sessionId, node);
      } else if (message.type === 'start-failed') {
        o.print(`node ${node}: ${message.message}`);
      }
    } catch (error) {
      fail(error as Error);
    }
  };
  const cluster = new SoakCluster({
    dir: o.dir,
    nodeIds,
    shardCount: o.shards,
    nodeTimeoutMs: t.nodeTimeoutMs,
    leaseTtlMs: t.leaseTtlMs,
    lockDelayMs: t.lockDelayMs,
    timing: t.cluster,
    discord: {
      identifySpacingMs: 50,
      heartbeatIntervalMs: t.heartbeatIntervalMs,
      maxConcurrency: o.shards,
      sessionStartLimit: { total: SESSION_START_TOTAL },
      world: { seed: o.seed, guilds: 4 * o.shards, membersPerGuild: 10 },
    },
    onMessage,
    onCommit: (node, ops) => {
      if (violation) return;
      try {
        fence.committed(node, ops);
      } catch (error) {
        fail(error as Error);
      }
    },
  });
  delivery = new DeliveryCheck({ ledger: cluster.discord.ledger, faults: log, lostAfterMs: 45_000, aftermathMs });
  const databases = new NodeDatabases(new Map(cluster.nodes.map((n) => [n.id, n.litefs.dbPath])));
  const applier = new FaultApplier({
    cluster,
    log,
    shardCount: o.shards,
    signal: abort.signal,
    sessionsEnded: (ids) => {
      delivery.sessionsEnded(ids);
      identify.sessionsEnded(ids);
    },
    restored: (node) => {
      databases.reopen(node);
      ownership.forget(node);
    },
    fail,
    leaveTimeoutMs: t.leaveTimeoutMs,
  });

  const timers: ReturnType<typeof setInterval>[] = [];
  const every = (ms: number, body: () => void): void => {
    timers.push(
      setInterval(() => {
        if (violation) return;
        try {
          body();
        } catch (error) {
          fail(error as Error);
        }
      }, ms),
    );
  };
  const pollConnections = (): void => {
    const all = cluster.discord.connections();
    connections.poll(all, o.shards);
    identify.poll(all);
  };
  const pollDatabases = (): void => {
    for (const node of cluster.nodes) {
      if (node.state === 'down') continue;
      const assignments = databases.assignments(node.id);
      const sessions = databases.sessions(node.id);
      if (assignments && sessions) {
        ownership.observe(node.id, assignments, sessions);
        identify.committed(sessions.map((s) => s.sessionId));
      }
    }
    const primary = cluster.litefsPrimary();
    if (primary) {
      const identifies = cluster.discord.stats.identifiesByShard;
      const grants = databases.grantsByShard(primary.id);
      if (grants) budget.observe(identifies, grants);
    }
  };

  let phase = 'start';
  try {
    o.print(`soak: seed ${o.seed}, ${schedule.length} faults scheduled over ${((schedule.at(-1)?.atMs ?? 0) / 60_000).toFixed(1)} min, ${o.nodes} nodes, ${o.shards} shards, ${o.eventsPerSecond} events/s; run dir ${o.dir}`);
    await cluster.start();
    phase = 'settle';
    await settled(cluster, o.shards, 60_000, abort.signal);
    every(25, pollConnections);
    every(200, pollDatabases);
    every(2_000, () => delivery.checkLost());
    cluster.discord.traffic.start({ eventsPerSecond: o.eventsPerSecond });
    phase = 'schedule';
    const begin = Date.now();
    for (const step of schedule) {
      await sleep(Math.max(0, begin + step.atMs - Date.now()), abort.signal);
      const fault = applier.apply(step);
      if (o.verbose) o.print(`  [${((fault.at - started) / 1000).toFixed(1)}s] ${describeStep(step)} -> ${fault.skipped ? 'skipped: ' : ''}${fault.target}`);
    }
    phase = 'heal';
    await raceViolation(applier.settled(), abort.signal);
    await heal(cluster, o.shards, abort.signal);
    phase = 'settle after the schedule';
    await settled(cluster, o.shards, 120_000, abort.signal);
    phase = 'drain';
    cluster.discord.traffic.stop();
    await drainDelivery(delivery, abort.signal);
    phase = 'cache equals world';
    await cachesEqualWorld(cluster, databases, abort.signal);
    if (violation) throw violation;
  } catch (error) {
    const cause = violation ?? (error as Error);
    const report = [
      `SOAK FAILED (seed ${o.seed}, phase ${phase}): ${cause.message}`,
      `replay: npm run soak -- --seed ${o.seed}${o.faults !== undefined ? ` --faults ${o.faults}` : ''}${o.minutes !== undefined ? ` --minutes ${o.minutes}` : ''} --nodes ${o.nodes}`,
      'schedule up to the failure:',
      log.render(),
      'cluster:',
      describeCluster(cluster, o.shards),
      `node logs: ${join(o.dir, 'logs')}`,
    ].join('\n');
    throw new SoakFailure(cause, report);
  } finally {
    for (const timer of timers) clearInterval(timer);
    abort.abort();
    await applier.settled().catch(() => {});
    databases.close();
    await cluster.close().catch(() => {});
    if (!violation && !o.keepDir) rmSync(o.dir, { recursive: true, force: true });
  }
  return {
    soak: 'sim',
    seed: o.seed,
    nodes: o.nodes,
    faults: log.appliedCount,
    byKind: log.byKind(),
    minutes: Math.round(((Date.now() - started) / 60_000) * 100) / 100,
    eventsHandled: delivery.handled,
    lost: 0,
    duplicated: delivery.duplicated,
    maxOverlapMs: connections.maxOverlapMs,
    identifiesUnplanned: identify.unplanned,
    cacheEqualsWorld: true,
  };
}

function liveCounts(cluster: SoakCluster, shards: number): number[] {
  const live = new Array<number>(shards).fill(0);
  for (const c of cluster.discord.connections()) if (c.open && !c.closing && c.sessionId !== null && c.shardId >= 0 && c.shardId < shards) live[c.shardId]! += 1;
  return live;
}

/** Every node up and every shard on exactly one live connection, for a second in a row. */
async function settled(cluster: SoakCluster, shards: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let since: number | null = null;
  for (;;) {
    const ok = cluster.nodes.every((n) => n.state === 'up') && cluster.litefsPrimary() !== null && liveCounts(cluster, shards).every((n) => n === 1);
    if (!ok) since = null;
    else if (since === null) since = Date.now();
    else if (Date.now() - since >= 1_000) return;
    if (Date.now() > deadline) throw new InvariantViolation('liveness', `the cluster did not settle within ${timeoutMs} ms after the faults: ${describeCluster(cluster, shards)}`);
    await sleep(50, signal);
  }
}

/** After the schedule: every cut and disk fault healed, every node back, nothing drained, every ACK flowing. */
async function heal(cluster: SoakCluster, shards: number, signal: AbortSignal): Promise<void> {
  cluster.healAll();
  for (let s = 0; s < shards; s++) cluster.discord.faults.withholdAcks(s, false);
  for (const node of cluster.nodes) if (node.state === 'down') await cluster.startNode(node.id);
  for (const node of cluster.nodes) {
    for (let attempt = 0; ; attempt++) {
      const via = cluster.litefsPrimary() ?? cluster.up()[0];
      const answer = via ? await cluster.admin(via.id, 'POST', `/nodes/${node.id}/undrain`, {}) : { status: 0 };
      if (answer.status === 200) break;
      if (attempt >= 60) throw new InvariantViolation('liveness', `node ${node.id} could not be undrained after the schedule: ${JSON.stringify(answer)}`);
      await sleep(500, signal);
    }
  }
}

async function drainDelivery(delivery: DeliveryCheck, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      delivery.checkLost(Date.now(), true);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await sleep(200, signal);
  }
}

async function cachesEqualWorld(cluster: SoakCluster, databases: NodeDatabases, signal: AbortSignal): Promise<void> {
  for (const node of cluster.nodes) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      let differences: string[];
      try {
        differences = cacheVsWorld(databases.reader(node.id), cluster.discord.world);
      } catch (error) {
        differences = [(error as Error).message];
      }
      if (differences.length === 0) break;
      if (Date.now() > deadline) {
        throw new InvariantViolation('cache differs from the world', `${node.id}'s SQL cache after the schedule: ${differences.length} differences, first: ${differences.slice(0, 8).join('; ')}`);
      }
      await sleep(250, signal);
    }
  }
}

function raceViolation<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export function describeCluster(cluster: SoakCluster, shards: number): string {
  const live = liveCounts(cluster, shards);
  const nodes = cluster.nodes.map((n) => `${n.id}:${n.state}${n.litefs.view.isPrimary ? '(litefs primary)' : ''}${n.litefs.partitioned ? '(litefs cut)' : ''}`).join(' ');
  return `${nodes}; live connections per shard: ${live.join(',')}`;
}

export type { Step };

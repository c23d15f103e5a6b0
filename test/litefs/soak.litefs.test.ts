/**
 * The fault soak on real LiteFS + Consul (issue 18): a seeded schedule of kill -9s (a replica,
 * the primary), SIGTERMs (a graceful leave through LiteFS, as Fly stops a machine) and
 * POST /takeover against 3 real nodes under traffic, with the sim soak's invariants checked all
 * the way through (test/soak/invariants/): nothing lost, duplicates only across a crash, at
 * most one live gateway connection per shard, no shard unowned past failover's bound, no
 * unplanned IDENTIFY, the identify budget kept, epochs only growing; at the end every node's SQL
 * cache equals the simulated world. SHARDLINE_SOAK_SEED replays a schedule,
 * SHARDLINE_SOAK_FAULTS sets its length (default 30, about 3 minutes, as `npm run test:litefs` runs it
 * in CI). The fence check of the sim soak needs
 * the commit stream, which real LiteFS keeps to itself; the rest is the same code.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/discord-sim/seeded-random.ts';
import { sleep } from '../../src/core/abort.ts';
import { cacheState, differences, expectedFromWorld, type CacheReader } from '../helpers/cache-vs-world.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { FaultLog } from '../soak/fault-log.ts';
import { ConnectionCheck } from '../soak/invariants/connection-check.ts';
import { DeliveryCheck } from '../soak/invariants/delivery-check.ts';
import { IdentifyBudgetCheck } from '../soak/invariants/identify-budget-check.ts';
import { IdentifyCheck } from '../soak/invariants/identify-check.ts';
import { OwnershipCheck } from '../soak/invariants/ownership-check.ts';
import type { FaultKind, Step } from '../soak/schedule.ts';
import { figure } from './cluster-checks.ts';
import type { ShardlineCluster } from './shardline-cluster.ts';
import { useShardlineClusters } from './use-shardline-clusters.ts';

const TTL_MS = 2_000;
const LOCK_DELAY_MS = 500;
const NODE_TIMEOUT_MS = 5_000;
const KILL_TIMEOUT_MS = 30_000;
const KINDS: readonly { kind: FaultKind; weight: number }[] = [
  { kind: 'killReplica', weight: 3 },
  { kind: 'killPrimary', weight: 2 },
  { kind: 'leave', weight: 3 },
  { kind: 'takeover', weight: 2 },
];

function schedule(seed: number, faults: number): Step[] {
  const random = new SeededRandom(seed);
  const total = KINDS.reduce((n, k) => n + k.weight, 0);
  return Array.from({ length: faults }, (_, i) => {
    let x = random.next() * total;
    const kind = KINDS.find((k) => (x -= k.weight) < 0)?.kind ?? 'takeover';
    return { n: i + 1, atMs: random.int(300, 3_000), kind, durationMs: kind === 'takeover' ? 0 : random.int(500, 4_000), pick: random.int(0, 2 ** 31 - 1), pick2: random.int(0, 2 ** 31 - 1) };
  });
}

/** The cache as cacheState() reads it, fetched over POST /query first (it reads synchronously). */
async function cacheOver(c: ShardlineCluster, hostname: string): Promise<ReturnType<typeof cacheState>> {
  const sqls: string[] = [];
  const empty = { columns: [], rows: [], truncated: false, timedOut: false };
  cacheState({ query: ((sql: string) => (sqls.push(sql), empty)) as unknown as CacheReader['query'] });
  const answers = new Map<string, unknown>();
  for (const sql of sqls) {
    const { status, json } = await c.admin(hostname, 'POST', '/query', { sql, maxRows: 10_000 }, 10_000);
    if (status !== 200) throw new Error(`POST /query on ${hostname} answered ${status}: ${JSON.stringify(json)}`);
    answers.set(sql, { ...json, truncated: json['truncated'] ?? false });
  }
  return cacheState({ query: ((sql: string) => answers.get(sql)) as unknown as CacheReader['query'] });
}

describe('shardline on real LiteFS + Consul: the fault soak', () => {
  const clusters = useShardlineClusters();

  it('a seeded schedule of kill -9s, SIGTERMs and takeovers under traffic keeps every invariant, and every node\'s cache equals the world', { timeout: 1_200_000 }, async () => {
    const seed = Number(process.env['SHARDLINE_SOAK_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
    const faults = Number(process.env['SHARDLINE_SOAK_FAULTS'] ?? 30);
    console.info(`[litefs soak] seed ${seed} (replay: SHARDLINE_SOAK_SEED=${seed} SHARDLINE_SOAK_FAULTS=${faults} npx vitest run --config vitest.litefs.config.ts test/litefs/soak.litefs.test.ts)`);
    const steps = schedule(seed, faults);
    const c = await clusters.start({ ttl: `${TTL_MS}ms`, lockDelay: `${LOCK_DELAY_MS}ms`, nodeTimeoutMs: NODE_TIMEOUT_MS });
    await c.settled({ spread: true });
    const started = Date.now();
    const log = new FaultLog();
    const aftermathMs = 15_000;
    const delivery = new DeliveryCheck({ ledger: c.discord.ledger, faults: log, lostAfterMs: 60_000, aftermathMs, since: c.discord.ledger.logicalEventCount });
    const identify = new IdentifyCheck({ faults: log, aftermathMs });
    const ownership = new OwnershipCheck();
    const budget = new IdentifyBudgetCheck({ total: 1_000, reserve: 50 });
    const connections = new ConnectionCheck({
      faults: log,
      overlapMs: 2_500,
      // A crashed primary's lease expires after about 2 TTLs and the lock-delay; then the new primary's grace and detection.
      unownedMs: 2 * TTL_MS + LOCK_DELAY_MS + 2 * NODE_TIMEOUT_MS + 1_500 + 3_000,
      primaryHeldMs: () => 0,
      blindUntil: () => null,
    });
    let violation: Error | null = null;
    const guard = (body: () => void | Promise<void>) => async (): Promise<void> => {
      if (violation) return;
      try {
        await body();
      } catch (error) {
        violation ??= error as Error;
      }
    };
    const offsets = new Map<string, number>();
    const feedRecords = (): void => {
      for (const hostname of c.hostnames) {
        const mine = c.records().filter((r) => r.node === hostname);
        for (const r of mine.slice(offsets.get(hostname) ?? 0)) {
          if (r.t === 'READY') identify.identifiedBy(r.sessionId, hostname);
          delivery.record({ node: hostname, shardId: r.shardId, sessionId: r.sessionId, seq: r.seq, t: r.t, at: r.at });
        }
        offsets.set(hostname, mine.length);
      }
    };
    const sampleDatabases = async (): Promise<void> => {
      for (const hostname of c.liveHostnames()) {
        const [assignments, sessions] = await Promise.all([
          c.query(hostname, 'select shard_id, generation, epoch, node_id from shard_assignments').catch(() => null),
          c.query(hostname, 'select shard_id, generation, session_id, seq from shard_sessions').catch(() => null),
        ]);
        if (!assignments || !sessions) continue;
        const sessionRows = sessions.map((r) => ({ shardId: Number(r[0]), generation: Number(r[1]), sessionId: String(r[2]), seq: Number(r[3]) }));
        ownership.observe(hostname, assignments.map((r) => ({ shardId: Number(r[0]), generation: Number(r[1]), epoch: Number(r[2]), nodeId: (r[3] as string | null) ?? null })), sessionRows);
        identify.committed(sessionRows.map((s) => s.sessionId));
      }
      const primary = (await Promise.all(c.liveHostnames().map(async (h) => ((await c.litefs.info(h))?.isPrimary ? h : null)))).find((h) => h !== null);
      if (primary) {
        const identifies = c.discord.stats.identifiesByShard;
        const grants = await c.query(primary, 'select shard_id, count(*) from identify_ledger group by shard_id').catch(() => null);
        if (grants) budget.observe(identifies, new Map(grants.map((r) => [Number(r[0]), Number(r[1])])));
      }
    };
    const timers = [
      setInterval(guard(() => {
        const all = c.discord.connections();
        connections.poll(all, c.shards);
        identify.poll(all);
      }), 25),
      setInterval(guard(feedRecords), 500),
      setInterval(guard(() => delivery.checkLost()), 2_000),
    ];
    let sampling = false;
    timers.push(setInterval(guard(async () => {
      if (sampling) return;
      sampling = true;
      await sampleDatabases().finally(() => (sampling = false));
    }), 1_000));

    const primaryNow = async (): Promise<string | null> => {
      for (const h of c.liveHostnames()) if ((await c.litefs.info(h))?.isPrimary) return h;
      return null;
    };
    try {
      c.discord.traffic.start({ eventsPerSecond: 100 });
      for (const step of steps) {
        if (violation) break;
        await sleep(step.atMs);
        const live = c.liveHostnames();
        const primary = await primaryNow();
        const replicas = live.filter((h) => h !== primary);
        const target = step.kind === 'killPrimary' ? primary : step.kind === 'leave' ? live[step.pick % live.length]! : replicas[step.pick % replicas.length] ?? null;
        if (!target) {
          log.record(step, 'no such node up', { skipped: true });
          continue;
        }
        const fault = log.record(step, target);
        if (step.kind === 'takeover') {
          const answer = await c.admin(target, 'POST', '/takeover', { timeoutMs: 20_000 }, 30_000);
          fault.outcome = `${answer.status} ${JSON.stringify(answer.json).slice(0, 160)}`;
        } else if (step.kind === 'leave') {
          const stopped = await c.terminate(target, KILL_TIMEOUT_MS);
          fault.outcome = `exit ${String(stopped.exitCode)}${stopped.killed ? ', SIGKILLed at the deadline' : ''} in ${stopped.tookMs} ms`;
          if (stopped.killed) log.disrupt(target, 'kill', fault.at).end();
          await sleep(step.durationMs);
          await c.restart(target);
        } else {
          const disruption = log.disrupt(target, 'kill');
          await c.kill(target);
          await sleep(step.durationMs);
          await c.restart(target);
          disruption.end();
        }
        fault.endedAt = Date.now();
        await c.settled({ timeoutMs: 120_000 });
      }
      if (violation) throw violation;
      c.discord.traffic.stop();
      // Every event sent is handled somewhere once the traffic stops (or Discord itself dropped it).
      let lastLoss: Error | null = null;
      await waitFor(() => {
        feedRecords();
        try {
          delivery.checkLost(Date.now(), true);
          return true;
        } catch (error) {
          lastLoss = error as Error;
          return false;
        }
      }, { timeoutMs: 60_000, intervalMs: 250 }).catch(() => {
        throw lastLoss ?? new Error('delivery check did not finish');
      });
      for (const hostname of c.hostnames) {
        await waitFor(async () => {
          const want = expectedFromWorld(c.discord.world);
          const got = await cacheOver(c, hostname);
          return Object.keys(want).every((table) => differences(want[table]!, got[table]!).length === 0);
        }, { timeoutMs: 60_000, intervalMs: 500, message: `${hostname}'s SQL cache equals the simulated world` });
      }
      if (violation) throw violation;
    } catch (error) {
      throw new Error(`${(error as Error).message}\nseed ${seed}; schedule up to the failure:\n${log.render()}`, { cause: error });
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
    const result = {
      soak: 'litefs',
      seed,
      nodes: c.hostnames.length,
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
    figure('soak', result);
    console.info(JSON.stringify(result));
    expect(log.appliedCount).toBeGreaterThanOrEqual(Math.floor(faults * 0.8));
    c.assertRunning();
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { ShardRunner } from '../../src/host/shard-runner.ts';
import { SimCluster } from '../helpers/sim-cluster.ts';
import { handledBy } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NODES = ['node-a', 'node-b', 'node-c'];
const SHARDS = [0, 1, 2, 3, 4, 5];

/**
 * Every shard ready on exactly one node and the placement balanced (as many on each node): on a
 * busy machine the primary may place shards before the replicas join, and a rebalance still to
 * come would move shards among the survivors while the test watches them.
 */
async function settled(cluster: SimCluster): Promise<void> {
  await waitFor(
    () => {
      const running = cluster.running();
      const perNode = NODES.map((id) => [...running.values()].filter((owners) => owners[0] === id).length);
      return (
        running.size === SHARDS.length &&
        [...running.values()].every((o) => o.length === 1) &&
        perNode.every((n) => n === SHARDS.length / NODES.length) &&
        [...cluster.nodes.values()].every((n) => !n.host.readiness().reasons.some((r) => r.startsWith('shard')))
      );
    },
    { timeoutMs: 60_000, message: 'every shard ready on exactly one node, as many on each' },
  );
}

async function caughtUp(cluster: SimCluster): Promise<void> {
  await waitFor(() => SHARDS.every((s) => {
    const check = cluster.discord.ledger.check(s, handledBy(cluster.recorded, s));
    return check.lost.length === 0;
  }), { timeoutMs: 60_000, message: 'every event of every shard handled' });
}

/**
 * Records every time a surviving shard stopped (detached, stopped, failed) or lost its session
 * (identifying). A reconnect that resumes the same session is not a stop: on a busy machine the
 * simulated Discord closes a connection whose heartbeat is 1.5 s late, whatever the failover does.
 */
function watchStops(runners: readonly ShardRunner[]): string[] {
  const stops: string[] = [];
  const stopped = new Set(['detached', 'stopped', 'failed', 'identifying']);
  for (const runner of runners) {
    runner.shard.on('status', (event) => {
      if (stopped.has(event.status)) stops.push(`shard ${event.shardId}: ${event.previous} -> ${event.status}`);
    });
  }
  return stops;
}

describe('failover on the simulated LiteFS', () => {
  let cluster: SimCluster;

  afterEach(async () => {
    await cluster?.close();
  });

  it('resumes a killed replica\'s shards elsewhere: nothing lost, duplicates only after the last commit, no IDENTIFY', async () => {
    cluster = await new SimCluster({ shardCount: SHARDS.length, discord: { maxConcurrency: 6 } }).start(NODES);
    await settled(cluster);
    const identifies = cluster.discord.stats.identifies;
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.recorded.length > 300);

    const primary = cluster.primary()!;
    const victim = NODES.find((id) => id !== primary.id && cluster.node(id).host.runners().length > 0)!;
    const lost = cluster.node(victim).host.runners().map((r) => r.shardId);
    const survivors = NODES.filter((id) => id !== victim).flatMap((id) => cluster.node(id).host.runners());
    const stops = watchStops(survivors);
    const lastHandled = new Map(lost.map((s) => [s, Math.max(...cluster.recorded.filter((r) => r.shardId === s).map((r) => r.seq))]));
    await cluster.kill(victim);
    // Nothing can commit for the victim any more: the committed seqs are final.
    const committed = new Map(primary.host.query('select shard_id, seq from shard_sessions').rows.map((r) => [Number(r[0]), Number(r[1])]));

    await waitFor(() => lost.every((s) => {
      const owners = cluster.running().get(s) ?? [];
      return owners.length === 1 && owners[0] !== victim && cluster.node(owners[0]!).host.runner(s)?.shard.status === 'ready';
    }), { timeoutMs: 60_000, message: 'the victim\'s shards run elsewhere' });
    cluster.discord.traffic.emit(200);
    cluster.discord.traffic.stop();
    await caughtUp(cluster);

    expect(cluster.discord.stats.identifies).toBe(identifies);
    expect(stops).toEqual([]);
    for (const s of SHARDS) {
      const check = cluster.discord.ledger.check(s, handledBy(cluster.recorded, s));
      expect(check.lost, `shard ${s}`).toEqual([]);
      if (!lost.includes(s)) {
        expect(check.duplicated, `shard ${s} kept running and must see nothing twice`).toEqual([]);
        continue;
      }
      // At-least-once only between the last commit and the crash (contract 7).
      for (const dup of check.duplicated) {
        expect(dup.seq).toBeGreaterThan(committed.get(s)!);
        expect(dup.seq).toBeLessThanOrEqual(lastHandled.get(s)!);
      }
    }
    const kinds = primary.host.status().events.map((e) => e.kind);
    expect(kinds).toContain('dead');
    expect(kinds).toContain('failover');
  });

  it('elects a new primary when the primary dies: coordinator and funnel move, queued writes arrive, other shards never stop', async () => {
    cluster = await new SimCluster({ shardCount: SHARDS.length, discord: { maxConcurrency: 6 } }).start(NODES);
    await settled(cluster);
    const identifies = cluster.discord.stats.identifies;
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.recorded.length > 300);
    const old = cluster.primary()!;
    const survivors = NODES.filter((id) => id !== old.id);
    const stops = watchStops(survivors.flatMap((id) => cluster.node(id).host.runners()));
    await cluster.kill(old.id);

    const next = await waitFor(() => cluster.primary(), { timeoutMs: 60_000, message: 'a new primary' });
    expect(survivors).toContain(next.id);
    await waitFor(() => next.host.primary?.coordinator.running === true);
    await waitFor(() => SHARDS.every((s) => {
      const owners = cluster.running().get(s) ?? [];
      return owners.length === 1 && owners[0] !== old.id;
    }), { timeoutMs: 60_000, message: 'the old primary\'s shards run on the survivors' });
    cluster.discord.traffic.stop();
    await caughtUp(cluster);
    // Writes queued on the replicas while no primary was known reach the new one: their seqs are committed.
    await waitFor(() => {
      const committed = new Map(next.host.query('select shard_id, seq from shard_sessions').rows.map((r) => [Number(r[0]), Number(r[1])]));
      return SHARDS.every((s) => {
        const runner = [...cluster.nodes.values()].map((n) => n.host.runner(s)).find((r) => r && r.shard.status === 'ready');
        return runner && committed.get(s) === runner.shard.resumeInfo()?.seq;
      });
    }, { timeoutMs: 10_000, message: 'every running shard\'s seq committed on the new primary' });

    expect(stops).toEqual([]);
    expect(cluster.discord.stats.identifies).toBe(identifies);
    for (const s of SHARDS) expect(cluster.discord.ledger.check(s, handledBy(cluster.recorded, s)).lost, `shard ${s}`).toEqual([]);
    expect(next.host.status().events.map((e) => e.kind)).toContain('takeover');
  });

  it('moves the lease and the coordinator on a promote, with writes continuing and nothing lost', async () => {
    cluster = await new SimCluster({ shardCount: SHARDS.length, discord: { maxConcurrency: 6 } }).start(NODES);
    await settled(cluster);
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.recorded.length > 300);
    const old = cluster.primary()!;
    const target = cluster.node(NODES.find((id) => id !== old.id)!);
    const result = await target.host.leadership.promote({ timeoutMs: 10_000 });
    expect(result.alreadyPrimary).toBe(false);
    await waitFor(() => target.host.primary?.coordinator.running === true && old.host.primary === null, { message: 'coordinator moved' });
    const before = cluster.recorded.length;
    await waitFor(() => cluster.recorded.length > before + 200, { message: 'events keep flowing' });
    cluster.discord.traffic.stop();
    await caughtUp(cluster);
    for (const s of SHARDS) {
      const check = cluster.discord.ledger.check(s, handledBy(cluster.recorded, s));
      expect(check.lost, `shard ${s}`).toEqual([]);
      expect(check.duplicated, `shard ${s}`).toEqual([]);
    }
    // Writes continue on the new primary: every shard's seq is committed there.
    await waitFor(() => {
      const committed = new Map(target.host.query('select shard_id, seq from shard_sessions').rows.map((r) => [Number(r[0]), Number(r[1])]));
      return SHARDS.every((s) => committed.get(s) === Math.max(...cluster.recorded.filter((r) => r.shardId === s).map((r) => r.seq)));
    }, { message: 'the new primary committed every shard\'s last seq' });
  });
});

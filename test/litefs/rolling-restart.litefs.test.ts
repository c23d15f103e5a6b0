import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import { expectLedger, figure, waitUntil } from './cluster-checks.ts';
import { moveGaps, percentile, rollingRestart } from './rolling-restart.ts';
import { useShardlineClusters } from './use-shardline-clusters.ts';
import { WORLD_DIGEST_SQL, worldDigest } from './world-digest.ts';

/** fly.toml's kill_timeout: the platform's SIGKILL comes this long after the stop signal. */
const KILL_TIMEOUT_MS = 30_000;

// Contract 11 on real LiteFS: a deploy restarts every machine in turn. Each node gets SIGTERM
// through LiteFS (which passes it on to shardline and waits), leaves, exits, and starts again.
describe('shardline on real LiteFS + Consul: a rolling restart with graceful leave', () => {
  const clusters = useShardlineClusters();

  it('restarts all 3 nodes, the primary included, under traffic: nothing lost or twice, no IDENTIFY, no LiteFS exit, every node\'s SQL equals the world', async () => {
    const c = await clusters.start();
    await c.settled({ spread: true });
    c.markBaseline();
    c.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => c.records().length > 300, { timeoutMs: 30_000, message: '300 dispatches handled' });
    const identifies = c.discord.stats.identifies;
    const started = Date.now();

    const turns = await rollingRestart(c, {
      order: ['n1', 'n2', 'n3'],
      killAfterMs: KILL_TIMEOUT_MS,
      onTurn: (turn) => {
        figure('rolling restart: turn', { ...turn });
        // LiteFS exited by itself (not killed, not its fatal 99) once shardline had left; the others run on.
        expect(turn.killed, `${turn.hostname} had to be SIGKILLed`).toBe(false);
        expect(turn.exitCode, `${turn.hostname}'s LiteFS exit code`).toBe(0);
        c.assertRunning();
      },
    });
    expect(turns[0]!.wasPrimary).toBe(true);
    for (const turn of turns) {
      expect(turn.leave, `${turn.hostname} logged its leave`).not.toBeNull();
      expect(turn.leave!.outcome, `${turn.hostname}'s leave`).toBe('left');
      expect(turn.leave!.leftover).toBe(0);
      if (turn.wasPrimary) expect(turn.leave!.newPrimary, `${turn.hostname} handed the lease on`).not.toBeNull();
    }

    const records = await c.drainTraffic();
    expectLedger(c, records);
    expect(c.discord.stats.identifies, 'no IDENTIFY across the restart').toBe(identifies);
    c.assertRunning();

    // The coordinator runs on a node that took the lease during the restart, and its log shows each leave.
    const statuses = await Promise.all(c.hostnames.map((h) => c.status(h)));
    const primary = statuses.find((s) => s.node.role === 'primary')!;
    expect(primary.funnel).not.toBeNull();
    const events = (await c.query(primary.node.id, "select kind, node_id from cluster_events where kind in ('leave', 'left') order by id")).map(([kind, node]) => `${String(kind)} ${String(node)}`);
    expect(events).toEqual(['leave n1', 'left n1', 'leave n2', 'left n2', 'leave n3', 'left n3']);

    const gaps = moveGaps(records).filter((g) => g.at - g.gapMs >= started).map((g) => g.gapMs);
    figure('rolling restart: gaps', { moves: gaps.length, p50Ms: percentile(gaps, 50), p99Ms: percentile(gaps, 99), maxMs: Math.max(...gaps) });

    // Every node's own replica holds the world as the simulator has it now.
    const world = JSON.stringify([worldDigest(c.discord.world)]);
    for (const h of c.hostnames) {
      await waitUntil(`${h}'s SQL equals the simulated world`, async () => {
        const rows = JSON.stringify(await c.query(h, WORLD_DIGEST_SQL));
        return rows === world || `${rows.slice(0, 200)} vs ${world.slice(0, 200)}`;
      }, 30_000);
    }
  }, 600_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { RestLoad } from '../helpers/rest-load.ts';
import { SimCluster } from '../helpers/sim-cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** A lower limit than Discord's 50 keeps the suite light; the bench runs the real figure. */
const LIMIT = 20;
const NODES = ['n1', 'n2', 'n3'] as const;
const DURATION_MS = 20_000;

describe('one REST budget for the cluster (contract 12)', () => {
  let cluster: SimCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  /** Three nodes whose handlers together offer three times the global limit, each to its own channels. */
  async function loadedCluster(): Promise<{ cluster: SimCluster; load: RestLoad }> {
    let channels: string[] = [];
    const load = new RestLoad({
      perNodePerSecond: LIMIT,
      durationMs: DURATION_MS,
      deadlineMs: 2_000,
      channelsFor: (nodeId) => channels.filter((_, i) => i % NODES.length === NODES.indexOf(nodeId as (typeof NODES)[number])),
    });
    const c = new SimCluster({
      shardCount: 6,
      discord: { rest: { globalLimit: LIMIT } },
      env: { SHARDLINE_REST_GLOBAL_LIMIT: String(LIMIT) },
      botFor: (id) => load.bot(id),
    });
    cluster = c;
    await c.start(NODES);
    channels = [...c.discord.world.guilds.values()].flatMap((g) => [...g.channels.values()].filter((ch) => ch.type === 0).map((ch) => ch.id)).sort();
    await waitFor(() => load.ready(NODES), { timeoutMs: 30_000, message: 'every node handed its ctx.rest over' });
    // Every node holds a lease before the offering starts.
    await waitFor(() => NODES.every((id) => c.node(id).host.restBudget()?.client.status().source === 'lease'), { timeoutMs: 10_000, message: 'leases' });
    return { cluster: c, load };
  }

  function expectWithinBudget(c: SimCluster, load: RestLoad, survivors: readonly string[]): void {
    const stats = c.discord.restStats;
    const totals = load.totals(survivors);
    const perNode = [...load.nodes.values()].map((n) => ({ node: n.nodeId, offered: n.offered, answered: n.answered, inWindow: n.answeredInWindow, deadline: n.deadline, closed: n.closed }));
    const summary = JSON.stringify({ sim: stats.total, perNode, failed: totals.failed });
    expect(stats.total.rateLimited.global, summary).toBe(0);
    expect(totals.pending, summary).toBe(0);
    expect(totals.failed + totals.aborted, `${summary} ${totals.failures.join(' | ')}`).toBe(0);
    expect(totals.answered + totals.deadline + totals.closed, summary).toBe(totals.offered);
    const achieved = load.totals().answeredInWindow / (DURATION_MS / 1000);
    expect(achieved / LIMIT, summary).toBeGreaterThanOrEqual(0.95);
  }

  it('three nodes offering 3x the global limit for 20 s: no global 429, nothing lost, at least 95% of the limit', async () => {
    const { cluster: c, load } = await loadedCluster();
    await load.run();
    await waitFor(() => load.totals().pending === 0, { timeoutMs: 10_000, message: 'every request ended' });
    expectWithinBudget(c, load, NODES);
    // The primary apportioned the limit among the three by demand.
    const view = c.primary()!.host.restBudget()!.status().cluster!;
    expect(view.nodes.map((n) => n.id)).toEqual([...NODES]);
    expect(view.nodes.reduce((sum, n) => sum + n.share, 0)).toBeLessThanOrEqual(LIMIT);
  });

  it('the same while the primary is killed mid-run', async () => {
    const { cluster: c, load } = await loadedCluster();
    const primary = c.primary()!.id;
    const survivors = NODES.filter((id) => id !== primary);
    const running = load.run();
    await waitFor(() => Date.now() - load.startedAt >= 8_000, { timeoutMs: 20_000, message: 'mid-run' });
    load.stop(primary);
    await c.kill(primary);
    await running;
    await waitFor(() => load.totals(survivors).pending === 0, { timeoutMs: 10_000, message: 'every request ended' });
    expect(c.primary()?.id).not.toBe(primary);
    expectWithinBudget(c, load, survivors);
  });

  it('the same while another node takes the primary over', async () => {
    const { cluster: c, load } = await loadedCluster();
    const target = NODES.find((id) => id !== c.primary()!.id)!;
    const running = load.run();
    await waitFor(() => Date.now() - load.startedAt >= 8_000, { timeoutMs: 20_000, message: 'mid-run' });
    await c.node(target).host.takeover({ timeoutMs: 10_000 });
    await running;
    await waitFor(() => load.totals().pending === 0, { timeoutMs: 10_000, message: 'every request ended' });
    expect(c.primary()?.id).toBe(target);
    expectWithinBudget(c, load, NODES);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, CLUSTER_SECRET, SimCluster, type SimClusterNode } from '../helpers/sim-cluster.ts';
import { handledBy } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NODES = ['node-a', 'node-b', 'node-c'];
const SHARDS = [0, 1, 2, 3];

async function post(node: SimClusterNode, path: string, body: unknown, token: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${node.host.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

// Real LiteFS exits (code 99) on the old primary when the lease moves while a transaction there
// commits; test/litefs/cluster-control.litefs.test.ts shows it. So the primary holds its writes
// before a takeover. Here: the hold itself, and that a takeover asks for it before LiteFS moves the lease.
describe('holding the primary\'s writes for a lease handoff (simulated LiteFS)', () => {
  let cluster: SimCluster;

  afterEach(async () => {
    await cluster?.close();
  });

  const start = async (): Promise<SimCluster> => {
    cluster = await new SimCluster({ shardCount: SHARDS.length, discord: { maxConcurrency: 4 } }).start(NODES);
    await waitFor(() => cluster.running().size === 4 && [...cluster.nodes.values()].every((n) => n.host.readiness().ready && n.host.status().nodes.length === 3), { timeoutMs: 20_000, message: 'cluster ready' });
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.recorded.length > 100);
    return cluster;
  };

  it('commits nothing while held, keeps every write queued, and commits them once released', async () => {
    const c = await start();
    const primary = c.primary()!;
    const replica = c.node(NODES.find((id) => id !== primary.id)!);
    expect((await post(replica, '/internal/primary/hold-writes', { holdMs: 1_000 }, CLUSTER_SECRET)).status).toBe(409);
    expect((await post(primary, '/internal/primary/hold-writes', { holdMs: 60_000 }, CLUSTER_SECRET)).status).toBe(400);

    const held = await post(primary, '/internal/primary/hold-writes', { holdMs: 10_000 }, CLUSTER_SECRET);
    expect(held.status).toBe(200);
    // What is left of the hold once no transaction runs: waiting for a batch on the thread takes some of it.
    const heldMs = (held.json as { heldMs: number }).heldMs;
    expect(heldMs).toBeGreaterThan(0);
    expect(heldMs).toBeLessThanOrEqual(10_000);
    const funnel = () => primary.host.primary!.funnel.stats();
    const committed = funnel().transactions;
    await waitFor(() => funnel().failedTransactions >= 2 && funnel().queuedEntries > 0, { message: 'the funnel tried and kept its writes queued' });
    expect(funnel().transactions).toBe(committed);
    expect(funnel().lastError?.message).toMatch(/writes are held/);

    expect(await post(primary, '/internal/primary/hold-writes', { holdMs: 0 }, CLUSTER_SECRET)).toEqual({ status: 200, json: { heldMs: 0 } });
    await waitFor(() => funnel().transactions > committed && funnel().queuedEntries === 0, { message: 'the funnel commits again' });
    c.discord.traffic.stop();
    await waitFor(() => SHARDS.every((s) => c.discord.ledger.check(s, handledBy(c.recorded, s)).lost.length === 0), { timeoutMs: 20_000 });
    const last = new Map(SHARDS.map((s) => [s, Math.max(...c.recorded.filter((r) => r.shardId === s).map((r) => r.seq))]));
    await waitFor(() => {
      const rows = primary.host.query('select shard_id, seq from shard_sessions').rows;
      return rows.length === SHARDS.length && rows.every((r) => last.get(Number(r[0])) === Number(r[1]));
    }, { message: 'every shard\'s last seq committed after the hold' });
  });

  it('POST /takeover on a replica holds the old primary\'s writes before the lease moves', async () => {
    const c = await start();
    const old = c.primary()!;
    const target = c.node(NODES.find((id) => id !== old.id)!);
    const takeover = await post(target, '/takeover', { timeoutMs: 20_000 }, ADMIN_TOKEN);
    expect(takeover.status, JSON.stringify(takeover.json)).toBe(200);
    await waitFor(() => !old.host.isPrimary, { message: 'the old primary stepped down' });
    const messages = c.log.lines().filter((l) => l['node'] === old.id).map((l) => String(l['msg']));
    const heldAt = messages.indexOf('writes held for a primary handoff');
    expect(heldAt).toBeGreaterThan(-1);
    expect(heldAt).toBeLessThan(messages.indexOf('this node is no longer the primary'));
    c.discord.traffic.stop();
    await waitFor(() => SHARDS.every((s) => c.discord.ledger.check(s, handledBy(c.recorded, s)).lost.length === 0), { timeoutMs: 20_000 });
    for (const s of SHARDS) expect(c.discord.ledger.check(s, handledBy(c.recorded, s)).duplicated, `shard ${s}`).toEqual([]);
  });
});

/**
 * Bugs the fault soak (`npm run soak`, test/soak/) found, each reproduced on purpose here on the
 * in-process simulated cluster, named after what broke.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, CLUSTER_SECRET, SimCluster } from '../helpers/sim-cluster.ts';
import { handledBy } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NODES = ['node-a', 'node-b', 'node-c'];
const SHARDS = [0, 1, 2, 3, 4, 5];

async function admin(url: string, path: string, body: unknown, token = ADMIN_TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('soak regressions (simulated cluster)', () => {
  let cluster: SimCluster;

  afterEach(async () => {
    await cluster?.close();
  });

  const settled = async (c: SimCluster): Promise<void> => {
    await waitFor(
      () => c.running().size === SHARDS.length && [...c.running().values()].every((o) => o.length === 1) && NODES.every((id) => c.node(id).host.runners().some((r) => r.shard.status === 'ready') && c.node(id).host.status().nodes.length === NODES.length),
      { timeoutMs: 60_000, message: () => `every shard ready once, on every node\n${c.dump()}` },
    );
  };

  it('regression: a move cut short by the primary\'s crash (detached, never committed) left its shard unowned until the release grace ran out', async () => {
    let armed: { shardId: number; primary: string } | null = null;
    cluster = new SimCluster({
      shardCount: SHARDS.length,
      discord: { maxConcurrency: SHARDS.length },
      afterFetch: async (_from, url) => {
        const hit = armed;
        if (!hit || !url.endsWith(`/internal/shards/${hit.shardId}/detach`)) return;
        armed = null;
        // The owner has detached the shard; the primary dies before it commits the move.
        await cluster.kill(hit.primary);
      },
    });
    const c = await cluster.start(NODES);
    await settled(c);
    c.discord.traffic.start({ eventsPerSecond: 200 });
    await waitFor(() => c.recorded.length > 200);
    const identifies = c.discord.stats.identifies;
    const primary = c.primary()!;
    const owner = c.node(NODES.find((id) => id !== primary.id)!);
    const other = NODES.find((id) => id !== primary.id && id !== owner.id)!;
    const shardId = owner.host.runners().find((r) => r.shard.status === 'ready')!.shardId;

    armed = { shardId, primary: primary.id };
    await admin(primary.host.url!, `/shards/${shardId}/move`, { to: other }).catch(() => null);
    expect(armed).toBeNull();
    await waitFor(() => c.primary() !== undefined && c.primary()!.id !== primary.id, { timeoutMs: 30_000, message: 'a new primary' });
    await waitFor(() => owner.host.runner(shardId)?.shard.status === 'ready' || c.node(other).host.runner(shardId)?.shard.status === 'ready', {
      timeoutMs: 30_000,
      message: () => `shard ${shardId} runs again\n${c.dump()}`,
    });
    // Resumed because a new primary took over, not after RELEASE_GRACE_MS.
    expect(c.log.text()).toContain('the primary that moved this shard was replaced before it committed the move');
    expect(c.log.text()).not.toContain('handed-off shard was never reassigned');
    c.discord.traffic.stop();
    const survivors = (s: number) => handledBy(c.recorded, s);
    await waitFor(() => SHARDS.every((s) => c.discord.ledger.check(s, survivors(s)).lost.length === 0), { timeoutMs: 30_000, message: 'nothing lost' });
    expect(c.discord.stats.identifies).toBe(identifies);
  });

  it('regression: a move whose commit was abandoned by a takeover left its shard detached and unowned until the release grace ran out', async () => {
    let armed: { shardId: number; takeoverOn: string } | null = null;
    cluster = new SimCluster({
      shardCount: SHARDS.length,
      discord: { maxConcurrency: SHARDS.length },
      afterFetch: async (_from, url) => {
        const hit = armed;
        if (!hit || !url.endsWith(`/internal/shards/${hit.shardId}/detach`)) return;
        armed = null;
        // The owner has detached the shard; before the primary commits the move, another node takes the lease.
        const answer = await admin(cluster.node(hit.takeoverOn).host.url!, '/takeover', { timeoutMs: 10_000 });
        expect(answer.status).toBe(200);
      },
    });
    const c = await cluster.start(NODES);
    await settled(c);
    c.discord.traffic.start({ eventsPerSecond: 200 });
    await waitFor(() => c.recorded.length > 200);
    const identifies = c.discord.stats.identifies;
    const primary = c.primary()!;
    const owner = c.node(NODES.find((id) => id !== primary.id)!);
    const other = NODES.find((id) => id !== primary.id && id !== owner.id)!;
    const shardId = owner.host.runners().find((r) => r.shard.status === 'ready')!.shardId;

    armed = { shardId, takeoverOn: other };
    const move = await admin(primary.host.url!, `/shards/${shardId}/move`, { to: other });
    expect(move.status, JSON.stringify(move.json)).not.toBe(200);
    expect(armed).toBeNull();
    await waitFor(() => c.node(other).host.isPrimary, { message: 'the takeover happened' });

    // The old owner runs it again from its detached session at once, not after RELEASE_GRACE_MS.
    await waitFor(() => c.running().get(shardId)?.length === 1 && c.node(c.running().get(shardId)![0]!).host.runner(shardId)?.shard.status === 'ready', {
      timeoutMs: 30_000,
      message: () => `shard ${shardId} runs again\n${c.dump()}`,
    });
    expect(c.log.text()).not.toContain('handed-off shard was never reassigned');
    c.discord.traffic.stop();
    await waitFor(() => SHARDS.every((s) => c.discord.ledger.check(s, handledBy(c.recorded, s)).lost.length === 0), { timeoutMs: 30_000, message: 'nothing lost' });
    for (const s of SHARDS) expect(c.discord.ledger.check(s, handledBy(c.recorded, s)).duplicated, `shard ${s} duplicated`).toEqual([]);
    expect(c.discord.stats.identifies).toBe(identifies);
  });

  it('regression: a move whose old owner could not commit its writes (the primary\'s full disk) left the shard detached and unowned until the release grace ran out', async () => {
    const c = await new SimCluster({ shardCount: SHARDS.length, discord: { maxConcurrency: SHARDS.length } }).start(NODES);
    cluster = c;
    await settled(c);
    c.discord.traffic.start({ eventsPerSecond: 200 });
    await waitFor(() => c.recorded.length > 200);
    const identifies = c.discord.stats.identifies;
    const primary = c.primary()!;
    const shardId = primary.host.runners().find((r) => r.shard.status === 'ready')!.shardId;
    const to = NODES.find((id) => id !== primary.id)!;
    // The primary's funnel refuses every commit for a while, as on a full disk.
    expect((await admin(primary.host.url!, '/internal/primary/hold-writes', { holdMs: 5_000 }, CLUSTER_SECRET)).status).toBe(200);
    const move = await admin(primary.host.url!, `/shards/${shardId}/move`, { to });
    expect(move.status, JSON.stringify(move.json)).not.toBe(200);
    // It never left: the old owner resumes it at once from the session it detached with.
    await waitFor(() => primary.host.runner(shardId)?.shard.status === 'ready', { timeoutMs: 30_000, message: () => `shard ${shardId} runs again on ${primary.id}\n${c.dump()}` });
    expect(c.log.text()).toContain('does not move; resuming it here');
    expect(c.log.text()).not.toContain('handed-off shard was never reassigned');
    await admin(primary.host.url!, '/internal/primary/hold-writes', { holdMs: 0 }, CLUSTER_SECRET);
    c.discord.traffic.stop();
    await waitFor(() => SHARDS.every((s) => c.discord.ledger.check(s, handledBy(c.recorded, s)).lost.length === 0), { timeoutMs: 30_000, message: 'nothing lost' });
    for (const s of SHARDS) expect(c.discord.ledger.check(s, handledBy(c.recorded, s)).duplicated, `shard ${s} duplicated`).toEqual([]);
    expect(c.discord.stats.identifies).toBe(identifies);
  });
});

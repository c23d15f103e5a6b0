import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import { committedSeqs, expectLedger, figure, lastHandled, snapshotShards, expectNeverStopped, waitUntil } from './cluster-checks.ts';
import type { ShardlineCluster } from './shardline-cluster.ts';
import { useShardlineClusters } from './use-shardline-clusters.ts';

describe('shardline on real LiteFS + Consul: takeover and moves', () => {
  const clusters = useShardlineClusters();

  const start = async (): Promise<ShardlineCluster> => {
    const c = await clusters.start();
    await c.settled({ spread: true });
    c.markBaseline();
    return c;
  };

  it('POST /takeover on a replica: LiteFS hands the lease over, the coordinator follows, writes continue, nothing lost', async () => {
    const c = await start();
    c.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => c.records().length > 300, { timeoutMs: 30_000, message: '300 dispatches handled' });
    const identifies = c.discord.stats.identifies;
    const shardsBefore = await Promise.all(c.hostnames.map(async (h) => [h, snapshotShards(c, await c.status(h))] as const));
    const takeoverAt = Date.now();

    const takeover = await c.admin('n2', 'POST', '/takeover', { timeoutMs: 20_000 });
    expect(takeover.status, JSON.stringify(takeover.json)).toBe(200);
    expect(takeover.json).toMatchObject({ alreadyPrimary: false, primary: 'n2' });
    expect((await c.litefs.info('n2'))?.isPrimary).toBe(true);
    const n2 = await c.status('n2');
    expect(n2.node.role).toBe('primary');
    expect(n2.funnel).not.toBeNull();
    expect(n2.events.some((e) => e.kind === 'takeover' && e.nodeId === 'n2' && e.at >= takeoverAt)).toBe(true);
    await waitUntil('n1 stepped down and every node names n2', async () => {
      const [n1, n3] = await Promise.all([c.status('n1'), c.status('n3')]);
      const ok = n1.node.role === 'replica' && n1.funnel === null && n1.node.primary === 'n2' && n3.node.primary === 'n2';
      return ok || `n1 ${n1.node.role} (primary ${n1.node.primary}, funnel ${n1.funnel !== null}), n3 names ${n3.node.primary}`;
    });
    figure('takeover', { tookMs: takeover.json['tookMs'] });
    // The old primary held its writes first: LiteFS exits (99) when the lease moves while a
    // transaction commits ("node lost write access during transaction").
    expect(c.log('n1')).toContain('writes held for a primary handoff');
    expect(c.log('n1')).not.toContain('lost write access');
    c.assertRunning();

    // Writes continue, now committed by n2's funnel.
    const committedBefore = n2.funnel!.committedEntries;
    await waitFor(async () => (await c.status('n2')).funnel!.committedEntries > committedBefore + 50, { timeoutMs: 20_000, message: 'n2\'s funnel commits' });
    const records = await c.drainTraffic();
    const last = lastHandled(records);
    await waitFor(async () => {
      const committed = await committedSeqs(c, 'n2');
      return [...last].every(([s, seq]) => committed.get(s) === seq);
    }, { timeoutMs: 20_000, message: 'every shard\'s last seq committed on n2' });
    expectLedger(c, records);
    expect(c.discord.stats.identifies).toBe(identifies);
    // A takeover moves no shard: every one kept its session and connection.
    for (const [h, before] of shardsBefore) await expectNeverStopped(c, h, before);
    c.assertRunning();
  });

  it('moves a shard between two replicas under traffic by RESUME: nothing lost, nothing twice, no IDENTIFY', async () => {
    const c = await start();
    c.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => c.records().length > 300, { timeoutMs: 30_000, message: '300 dispatches handled' });
    const identifies = c.discord.stats.identifies;
    const resumes = c.discord.stats.resumes;
    // A shard below the target's highest: the planner then rebalances by handing that highest
    // one back (it keeps the lowest ids), and the moved shard stays where it was sent.
    const held = async (h: string): Promise<number[]> => (await c.status(h)).shards.filter((s) => s.status === 'ready').map((s) => s.shardId);
    const [onN2, onN3] = [await held('n2'), await held('n3')];
    const [from, to, shardId] = Math.min(...onN2) < Math.max(...onN3) ? ['n2', 'n3', Math.min(...onN2)] : ['n3', 'n2', Math.min(...onN3)];
    const before = c.records().filter((r) => r.shardId === shardId).length;

    // Asked on the target replica, which forwards it to the primary (n1).
    const moved = await c.admin(to, 'POST', `/shards/${shardId}/move`, { to });
    expect(moved.status, JSON.stringify(moved.json)).toBe(200);
    expect(moved.json).toMatchObject({ shardId, from, to });
    expect(typeof moved.json['gapMs'], 'the new owner reported RESUMED within 5 s').toBe('number');
    figure('move between replicas', { tookMs: moved.json['tookMs'], gapMs: moved.json['gapMs'] });
    await waitFor(() => c.records().some((r) => r.shardId === shardId && r.node === to), { timeoutMs: 20_000, message: `${to} handles the moved shard` });
    expect((await c.status('n1')).events.some((e) => e.kind === 'move' && e.shardId === shardId)).toBe(true);
    await waitFor(() => c.records().filter((r) => r.shardId === shardId).length > before + 50, { timeoutMs: 20_000, message: 'the moved shard keeps delivering' });

    const records = await c.drainTraffic();
    expectLedger(c, records);
    expect(c.discord.stats.identifies).toBe(identifies);
    expect(c.discord.stats.resumes).toBeGreaterThan(resumes);
    // The handoff split the shard's one session between the two replicas at the handed-off seq.
    const seq = Number(moved.json['seq']);
    const ofShard = records.filter((r) => r.shardId === shardId);
    expect(new Set(ofShard.map((r) => r.sessionId)).size).toBe(1);
    expect(ofShard.filter((r) => r.node === from).every((r) => r.seq <= seq)).toBe(true);
    expect(ofShard.filter((r) => r.seq > seq).every((r) => r.node === to)).toBe(true);
  });
});

import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResumeInfo } from '../../src/core/resume-info.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { ADMIN_TOKEN, CLUSTER_SECRET, SimCluster, type SimClusterNode } from '../helpers/sim-cluster.ts';
import { handledBy, recordingBot, tempDir, testHost, type Recorded } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NODES = ['node-a', 'node-b', 'node-c'];
const SHARDS = [0, 1, 2, 3];

async function call(node: SimClusterNode, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${node.host.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function assignment(cluster: SimCluster, shardId: number) {
  return cluster.primary()!.host.primary!.coordinator.assignments().get(shardId);
}

/** Stops the traffic, waits until every event was handled, and checks the ledger of every shard. */
async function expectNothingLostOrTwice(cluster: SimCluster): Promise<void> {
  cluster.discord.traffic.stop();
  await waitFor(() => {
    const expected = SHARDS.reduce((n, s) => n + cluster.discord.ledger.events(s).length, 0);
    return cluster.recorded.length >= expected;
  }, { timeoutMs: 60_000, message: 'every event handled' });
  for (const s of SHARDS) {
    const check = cluster.discord.ledger.check(s, handledBy(cluster.recorded, s));
    expect(check.lost, `shard ${s} lost`).toEqual([]);
    expect(check.duplicated, `shard ${s} duplicated`).toEqual([]);
  }
}

describe('control plane on a 3-node simulated-LiteFS cluster', () => {
  let cluster: SimCluster;

  afterEach(async () => {
    await cluster?.close();
  });

  async function startCluster(): Promise<SimCluster> {
    cluster = await new SimCluster({ shardCount: 4, discord: { maxConcurrency: 4 } }).start(NODES);
    // Every node also knows every other (the nodes table replicated), so each can reach the primary.
    await waitFor(
      () => cluster.running().size === 4 && [...cluster.nodes.values()].every((n) => n.host.readiness().ready && n.host.status().nodes.length === 3),
      { timeoutMs: 60_000, message: 'cluster ready' },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${cluster.dump()}`);
    });
    return cluster;
  }

  it('hands shard 3 off by hand (handoff here, resume there) with nothing lost, nothing twice and no IDENTIFY', async () => {
    await startCluster();
    const identifies = cluster.discord.stats.identifies;
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.recorded.filter((r) => r.shardId === 3).length > 20);

    const from = cluster.node(cluster.running().get(3)![0]!);
    const to = cluster.node(NODES.find((id) => id !== from.id && !cluster.node(id).host.isPrimary) ?? NODES.find((id) => id !== from.id)!);
    const before = assignment(cluster, 3)!;

    // Not running here: 404, and nothing changes.
    const elsewhere = await call(to, '/shards/3/handoff');
    expect(elsewhere.status).toBe(404);
    expect(assignment(cluster, 3)).toEqual(before);

    const handoff = await call(from, '/shards/3/handoff');
    expect(handoff.status).toBe(200);
    const info = handoff.json as unknown as ResumeInfo;
    expect(info).toMatchObject({ shardId: 3, shardCount: 4 });
    expect(Object.keys(info).sort()).toEqual(['resumeGatewayUrl', 'seq', 'sessionId', 'shardCount', 'shardId']);
    const detached = assignment(cluster, 3)!;
    expect(detached).toMatchObject({ nodeId: null, state: 'detached', epoch: before.epoch + 1 });
    expect(from.host.runner(3)).toBeUndefined();

    // Stale resume info is refused and changes nothing.
    const stale: [unknown, RegExp, number][] = [
      [{ ...info, sessionId: 'not-the-session' }, /unknown session not-the-session/, 409],
      [{ ...info, shardCount: 8, shardId: 3 }, /resume info is for 8 shards/, 409],
      [{ ...info, shardId: 2 }, /belongs to shard 2/, 409],
      [{ ...info, resumeGatewayUrl: 'https://nope' }, /resumeGatewayUrl/, 400],
    ];
    if (info.seq > 0) stale.push([{ ...info, seq: info.seq - 1 }, /behind the committed seq/, 409]);
    for (const [body, message, status] of stale) {
      const res = await call(to, '/shards/3/resume', body);
      expect(res.status, JSON.stringify(res.json)).toBe(status);
      expect(JSON.stringify(res.json)).toMatch(message);
      expect(assignment(cluster, 3)).toEqual(detached);
      expect(to.host.runner(3)).toBeUndefined();
    }
    // The planner leaves a detached shard alone while it waits for its resume.
    expect(cluster.running().has(3)).toBe(false);

    const resumed = await call(to, '/shards/3/resume', info);
    expect(resumed.status, JSON.stringify(resumed.json)).toBe(200);
    expect(resumed.json).toEqual({ shardId: 3, epoch: detached.epoch + 1, node: to.id });
    expect(assignment(cluster, 3)).toMatchObject({ nodeId: to.id, state: 'assigned', epoch: detached.epoch + 1 });
    // The new node resumed it: events after the handed-off seq arrive (the planner may later
    // rebalance it by another resume when this left the nodes uneven; the ledger covers both).
    await waitFor(() => cluster.recorded.some((r) => r.shardId === 3 && r.seq > info.seq), { message: 'shard 3 delivers again after its resume' });
    expect(cluster.log.lines().some((l) => l['node'] === to.id && l['shardId'] === 3 && l['msg'] === 'starting shard by RESUME')).toBe(true);

    // Running now: a second resume with the same info is refused.
    const again = await call(cluster.node(NODES.find((id) => !cluster.node(id).host.runner(3))!), '/shards/3/resume', info);
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.json)).toMatch(/not detached/);

    const handled = cluster.recorded.length;
    await waitFor(() => cluster.recorded.length > handled + 100);
    await expectNothingLostOrTwice(cluster);
    expect(cluster.discord.stats.identifies).toBe(identifies);
  });

  it('takes over on a replica: its coordinator runs and moves a shard asked on another replica, with nothing lost', async () => {
    await startCluster();
    const identifies = cluster.discord.stats.identifies;
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.recorded.length > 100);
    const oldPrimary = cluster.primary()!;
    const [replica, other] = NODES.filter((id) => id !== oldPrimary.id).map((id) => cluster.node(id));

    const already = await call(oldPrimary, '/takeover');
    expect(already.status).toBe(200);
    expect(already.json).toMatchObject({ alreadyPrimary: true, primary: oldPrimary.id });

    // The cluster secret opens internal routes only; the admin token opens admin routes only.
    expect((await call(replica!, '/takeover', undefined, CLUSTER_SECRET)).status).toBe(401);
    expect((await call(replica!, '/internal/shards/0/stats', {}, ADMIN_TOKEN)).status).toBe(401);

    const takeover = await call(replica!, '/takeover', { timeoutMs: 20_000 });
    expect(takeover.status, JSON.stringify(takeover.json)).toBe(200);
    expect(takeover.json).toMatchObject({ alreadyPrimary: false, primary: replica!.id });
    expect(replica!.host.isPrimary).toBe(true);
    expect(replica!.host.primary?.coordinator.running).toBe(true);
    await waitFor(() => !oldPrimary.host.isPrimary, { message: 'the old primary stepped down' });

    // The new coordinator works: a move asked on the other replica is forwarded to it.
    await waitFor(() => {
      const status = other!.host.status();
      return status.node.primary === replica!.id && status.nodes.some((n) => n.id === replica!.id);
    }, { message: 'the other replica knows the new primary and its URL' });
    // From the node holding two shards to one holding one: balanced afterwards, so the planner keeps it there.
    const [shardId, owner, target] = await waitFor(() => {
      const byNode = new Map<string, number[]>(NODES.map((id) => [id, []]));
      for (const [s, owners] of cluster.running()) if (owners.length === 1) byNode.get(owners[0]!)!.push(s);
      if ([...byNode.values()].reduce((n, l) => n + l.length, 0) !== 4) return null;
      const full = [...byNode].find(([, l]) => l.length === 2);
      const light = [...byNode].find(([, l]) => l.length === 1);
      return full && light ? ([full[1][0]!, full[0], light[0]] as const) : null;
    }, { message: 'all 4 shards running, 2/1/1' });
    const moved = await call(other!, `/shards/${shardId}/move`, { to: target });
    expect(moved.status, JSON.stringify(moved.json)).toBe(200);
    expect(moved.json).toMatchObject({ shardId, from: owner, to: target });
    expect(typeof moved.json['seq']).toBe('number');
    if (process.env['SHARDLINE_PRINT_FIGURES']) console.log('move', JSON.stringify(moved.json));
    await waitFor(() => cluster.node(target).host.runner(shardId)?.shard.status === 'ready', { message: 'the moved shard is ready on its new node' });
    // Nothing failed over: the new primary gave every live owner its grace (contract 7).
    expect(cluster.log.lines().filter((l) => l['msg'] === 'shard reassigned to another node; stopping it here')).toEqual([]);

    const handled = cluster.recorded.length;
    await waitFor(() => cluster.recorded.length > handled + 100);
    await expectNothingLostOrTwice(cluster);
    expect(cluster.discord.stats.identifies).toBe(identifies);
  });

  it('drains a node until it holds no shard, undrains it, and keeps every secret out of the log', async () => {
    await startCluster();
    // The primary may hold every shard at first (the replicas joined late): wait for the rebalance.
    const victimId = await waitFor(() => NODES.find((id) => cluster.node(id).host.runners().length > 0 && !cluster.node(id).host.isPrimary), {
      timeoutMs: 30_000,
      message: 'a replica runs a shard',
    });
    const victim = cluster.node(victimId);
    const asker = cluster.node(NODES.find((id) => id !== victim.id)!);

    const unknown = await call(asker, '/nodes/node-x/drain', { waitMs: 0 });
    expect(unknown.status).toBe(404);

    const drained = await call(asker, `/nodes/${victim.id}/drain`, { waitMs: 20_000 });
    expect(drained.status, JSON.stringify(drained.json)).toBe(200);
    expect(drained.json).toMatchObject({ node: victim.id, draining: true, shards: [], done: true });
    await waitFor(() => victim.host.runners().length === 0 && cluster.running().size === 4, { message: 'victim empty, every shard running elsewhere' });
    expect(victim.host.status().nodes.find((n) => n.id === victim.id)?.draining ?? true).toBe(true);

    const undrained = await call(victim, `/nodes/${victim.id}/undrain`);
    expect(undrained.status).toBe(200);
    expect(undrained.json).toMatchObject({ draining: false, done: true });
    await waitFor(() => victim.host.runners().length > 0, { message: 'the undrained node gets shards back' });

    const metrics = await fetch(`${victim.host.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await metrics.text()).toContain('shardline_role{role="replica"} 1');

    const text = cluster.log.text();
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain(CLUSTER_SECRET);
  });
});

describe('control plane on an embedded node (no LiteFS)', () => {
  const dirs: string[] = [];
  let discord: FakeDiscord | null = null;
  let host: Host | null = null;

  afterEach(async () => {
    await host?.close();
    await discord?.close();
    host = null;
    discord = null;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('answers takeover with alreadyPrimary and hands a shard off and back to itself by RESUME', async () => {
    discord = new FakeDiscord({ identifySpacingMs: 20, heartbeatIntervalMs: 1_000, world: { seed: 3, guilds: 6, membersPerGuild: 5 } });
    await discord.start();
    const dir = tempDir();
    dirs.push(dir);
    const recorded: Recorded[] = [];
    host = testHost(discord, { dataDir: dir, bot: recordingBot(undefined, recorded), serveHttp: true, env: { SHARD_COUNT: '2', SHARDLINE_ADMIN_TOKEN: ADMIN_TOKEN } });
    await host.start();
    const node = { host } as SimClusterNode;
    const identifies = discord.stats.identifies;

    const takeover = await call(node, '/takeover');
    expect(takeover.status).toBe(200);
    expect(takeover.json).toEqual({ tookMs: expect.any(Number), alreadyPrimary: true, primary: 'node-1' });

    discord.traffic.start({ eventsPerSecond: 200 });
    await waitFor(() => recorded.filter((r) => r.shardId === 1).length > 10);
    const handoff = await call(node, '/shards/1/handoff');
    expect(handoff.status).toBe(200);
    expect(host.runner(1)).toBeUndefined();
    expect(host.primary!.coordinator.assignments().get(1)).toMatchObject({ state: 'detached', nodeId: null });
    const resumed = await call(node, '/shards/1/resume', handoff.json);
    expect(resumed.status, JSON.stringify(resumed.json)).toBe(200);
    await waitFor(() => host!.runner(1)?.shard.status === 'ready');
    const seq = (handoff.json as unknown as ResumeInfo).seq;
    await waitFor(() => recorded.some((r) => r.shardId === 1 && r.seq > seq + 20));

    discord.traffic.stop();
    await waitFor(() => recorded.length >= [0, 1].reduce((n, s) => n + discord!.ledger.events(s).length, 0));
    for (const s of [0, 1]) {
      const check = discord.ledger.check(s, handledBy(recorded, s));
      expect(check.lost).toEqual([]);
      expect(check.duplicated).toEqual([]);
    }
    expect(discord.stats.identifies).toBe(identifies);
  });
});

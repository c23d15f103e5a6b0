/**
 * A 3-node cluster on the simulated LiteFS, entirely under Deno 2 with node:sqlite:
 *   deno task test:deno
 */
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/wait-for.ts';
import { DenoCluster, type Handled } from './deno-cluster.ts';

// tsc checks this file with Node's types only; Deno supplies the real namespace.
declare const Deno: { test(name: string, fn: () => Promise<void>): void };

const NODES = ['node-a', 'node-b', 'node-c'];
const SHARDS = [0, 1, 2, 3];

function handledBy(handled: readonly Handled[], shardId: number): { sessionId: string; seq: number }[] {
  return handled.filter((h) => h.shardId === shardId).map((h) => ({ sessionId: h.sessionId, seq: h.seq }));
}

/** Stops the traffic, waits until every event was handled, and checks every shard's ledger. */
async function expectNothingLostOrTwice(cluster: DenoCluster): Promise<void> {
  cluster.discord.traffic.stop();
  await waitFor(() => {
    const expected = SHARDS.reduce((n, s) => n + cluster.discord.ledger.events(s).length, 0);
    return cluster.handled.length >= expected;
  }, { timeoutMs: 20_000, message: 'every event handled' });
  for (const s of SHARDS) {
    const check = cluster.discord.ledger.check(s, handledBy(cluster.handled, s));
    assert.deepEqual(check.lost, [], `shard ${s} lost events`);
    assert.deepEqual(check.duplicated, [], `shard ${s} handled events twice`);
  }
}

async function allReady(cluster: DenoCluster): Promise<void> {
  await waitFor(() => {
    const running = cluster.running();
    return running.size === SHARDS.length && [...running.values()].every((owners) => owners.length === 1) && [...cluster.nodes.values()].every((n) => n.host.readiness().ready);
  }, { timeoutMs: 30_000, message: 'every shard running on exactly one node, every node ready' });
}

Deno.test('Deno cluster: READY on every shard, the same SQL answer on every node, a move with nothing lost', async () => {
  const cluster = new DenoCluster({ shardCount: SHARDS.length });
  try {
    await cluster.start(NODES);
    await allReady(cluster);
    for (const s of SHARDS) {
      const owner = cluster.running().get(s)![0]!;
      assert.equal(cluster.node(owner).host.runner(s)?.shard.status, 'ready', `shard ${s} is READY on ${owner}`);
    }
    assert.equal(cluster.discord.stats.identifies, SHARDS.length, 'one IDENTIFY per shard');

    const guilds = cluster.discord.world.guilds.size;
    const members = [...cluster.discord.world.guilds.values()].reduce((n, g) => n + g.members.size, 0);
    for (const node of cluster.nodes.values()) {
      await waitFor(() => {
        const [row] = node.host.query('select (select count(*) from guilds) as g, (select count(*) from members) as m').rows;
        return Number(row![0]) === guilds && Number(row![1]) === members;
      }, { timeoutMs: 15_000, message: `${node.id} sees every guild and member in its replica` });
    }
    // The same question over the HTTP API (Deno.serve), on a replica.
    const replica = [...cluster.nodes.values()].find((n) => !n.host.isPrimary)!;
    const answer = await cluster.admin(replica.id, '/query', { sql: 'select count(*) as g from guilds' });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    assert.deepEqual((answer.json['rows'] as unknown[][])[0]!.map(Number), [guilds]);

    const identifies = cluster.discord.stats.identifies;
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.handled.length > 200, { timeoutMs: 15_000 });
    const shardId = 1;
    const from = cluster.running().get(shardId)![0]!;
    const to = NODES.find((id) => id !== from)!;
    const moved = await cluster.admin(from, `/shards/${shardId}/move`, { to });
    assert.equal(moved.status, 200, JSON.stringify(moved.json));
    assert.equal(moved.json['from'], from);
    assert.equal(moved.json['to'], to);
    await waitFor(() => cluster.node(to).host.runner(shardId)?.shard.status === 'ready', { message: `shard ${shardId} READY on ${to}` });
    const before = cluster.handled.filter((h) => h.shardId === shardId).length;
    await waitFor(() => cluster.handled.filter((h) => h.shardId === shardId).length > before + 20, { timeoutMs: 15_000, message: 'the moved shard delivers events on its new node' });
    await expectNothingLostOrTwice(cluster);
    assert.equal(cluster.discord.stats.identifies, identifies, 'the move resumed, it did not IDENTIFY');
  } finally {
    await cluster.close();
  }
});

Deno.test('Deno cluster: POST /takeover on a replica makes it the primary, and writes commit there with nothing lost', async () => {
  const cluster = new DenoCluster({ shardCount: SHARDS.length });
  try {
    await cluster.start(NODES);
    await allReady(cluster);
    const oldPrimary = cluster.primary()!;
    const replica = [...cluster.nodes.values()].find((n) => n !== oldPrimary)!;
    cluster.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => cluster.handled.length > 100, { timeoutMs: 15_000 });

    const takeover = await cluster.admin(replica.id, '/takeover', { timeoutMs: 20_000 });
    assert.equal(takeover.status, 200, JSON.stringify(takeover.json));
    assert.equal(takeover.json['alreadyPrimary'], false);
    assert.equal(takeover.json['primary'], replica.id);
    assert.equal(replica.host.isPrimary, true);
    await waitFor(() => !oldPrimary.host.isPrimary, { message: 'the old primary stepped down' });

    // Writes now commit on the new primary: the committed seqs move on, and the old primary,
    // a replica now, replicates them.
    const seqs = (id: string): number => Number(cluster.node(id).host.query('select coalesce(sum(seq), 0) from shard_sessions').rows[0]![0]);
    const atTakeover = seqs(replica.id);
    await waitFor(() => seqs(replica.id) > atTakeover + 100, { timeoutMs: 15_000, message: 'the new primary commits the shards\' seqs' });
    await expectNothingLostOrTwice(cluster);
    const committed = seqs(replica.id);
    await waitFor(() => seqs(oldPrimary.id) >= committed, { timeoutMs: 15_000, message: 'the old primary, now a replica, catches up with the new primary' });
  } finally {
    await cluster.close();
  }
});

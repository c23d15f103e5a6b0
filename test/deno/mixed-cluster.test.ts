import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SimCluster } from '../helpers/sim-cluster.ts';
import { handledBy, tempDir, type Recorded } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { DENO_NODE, DenoNode, hasDeno } from './deno-node.ts';

const SHARDS = [0, 1, 2, 3];

describe('a Deno node and Node nodes in one cluster', () => {
  let cluster: SimCluster | undefined;
  let denoNode: DenoNode | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    // The Deno node is a replica: it stops first, while the primary still takes its last writes.
    await denoNode?.stop();
    denoNode = undefined;
    await cluster?.close();
    cluster = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!hasDeno)(
    'share the shards, the database and the internal HTTP API, and shards move from the Deno node to Node nodes with nothing lost (skipped only when the deno npm package is not installed)',
    async () => {
      cluster = await new SimCluster({ shardCount: SHARDS.length, discord: { maxConcurrency: 4 } }).start(['node-a', 'node-b']);
      const primary = cluster.node('node-a');
      await waitFor(() => primary.host.isPrimary && cluster!.running().size === SHARDS.length, { timeoutMs: 20_000, message: 'node-a primary, every shard running' });

      // The Deno node's LiteFS lives in this process and may never hold the lease.
      const litefs = cluster.litefs.addNode(DENO_NODE, { candidate: false });
      await litefs.start();
      const dir = tempDir('shardline-mixed-');
      dirs.push(dir);
      const node = (denoNode = new DenoNode(cluster, litefs, dir, SHARDS.length));
      await waitFor(() => node.url, { timeoutMs: 60_000, message: 'the Deno node prints its URL' }).catch((error: Error) => {
        throw new Error(`${error.message}; its output so far:\n${node.output}`, { cause: error });
      });

      // The coordinator on Node gives the Deno node its share, by RESUME handoffs.
      const denoShards = await waitFor(async () => {
        const status = await node.admin('GET', '/status');
        const ready = (status.json['shards'] as { shardId: number; status: string }[]).filter((s) => s.status === 'ready').map((s) => s.shardId);
        const running = cluster!.running();
        const elsewhere = ready.some((s) => (running.get(s) ?? []).length > 0);
        return ready.length >= 1 && !elsewhere && SHARDS.every((s) => ready.includes(s) || running.get(s)?.length === 1) ? ready : null;
      }, { timeoutMs: 30_000, message: 'the Deno node runs READY shards, every other shard runs on one Node node' });
      expect(primary.host.status().nodes.map((n) => n.id)).toContain(DENO_NODE);

      cluster.discord.traffic.start({ eventsPerSecond: 300 });
      const shardId = denoShards[0]!;
      await waitFor(() => node.handled().filter((h) => h.shardId === shardId).length > 50, { timeoutMs: 20_000, message: `the Deno node handles shard ${shardId}'s events` });

      // Forwarded writes: the primary commits what the Deno node handled (cache effects and seq together).
      const handledSeq = Math.max(...node.handled().filter((h) => h.shardId === shardId).map((h) => h.seq));
      await waitFor(() => {
        const [row] = primary.host.query('select seq from shard_sessions where shard_id = ?', [shardId]).rows;
        return row !== undefined && Number(row[0]) >= handledSeq;
      }, { timeoutMs: 15_000, message: `the primary committed shard ${shardId} up to seq ${handledSeq}, forwarded from the Deno node` });

      // The Deno node reads the same database: its replica answers what the primary answers.
      const sql = 'select (select count(*) from guilds) as g, (select count(*) from members) as m, (select count(*) from shard_sessions) as s';
      cluster.discord.traffic.stop();
      await waitFor(async () => {
        const mine = primary.host.query(sql).rows[0]!.map(Number);
        const theirs = await node.admin('POST', '/query', { sql });
        return theirs.status === 200 && JSON.stringify((theirs.json['rows'] as unknown[][])[0]!.map(Number)) === JSON.stringify(mine) ? mine : null;
      }, { timeoutMs: 15_000, message: 'SQL on the Deno node answers what the primary answers' });
      cluster.discord.traffic.start({ eventsPerSecond: 300 });

      // The Deno node's shards move to the Node nodes, by RESUME: a drain (as before a deploy)
      // keeps the planner from handing them back to balance the cluster.
      const identifies = cluster.discord.stats.identifies;
      const drained = await node.admin('POST', `/nodes/${DENO_NODE}/drain`, { waitMs: 30_000 });
      expect(drained.status, JSON.stringify(drained.json)).toBe(200);
      expect(drained.json).toMatchObject({ node: DENO_NODE, draining: true, done: true, shards: [] });
      const movedTo = await waitFor(() => {
        const owners = denoShards.map((s) => cluster!.running().get(s) ?? []);
        if (owners.some((o) => o.length !== 1)) return null;
        return denoShards.every((s, i) => cluster!.node(owners[i]![0]!).host.runner(s)?.shard.status === 'ready') ? owners.map((o) => o[0]!) : null;
      }, { timeoutMs: 20_000, message: `shards ${denoShards.join(', ')} READY on Node nodes` });
      expect(movedTo.every((id) => id === 'node-a' || id === 'node-b')).toBe(true);
      const onNode = cluster.recorded.filter((r) => r.shardId === shardId).length;
      await waitFor(() => cluster!.recorded.filter((r) => r.shardId === shardId).length > onNode + 50, { timeoutMs: 15_000, message: `a Node node handles shard ${shardId} after the move` });

      cluster.discord.traffic.stop();
      const all = (): Recorded[] => [...cluster!.recorded, ...node.handled()];
      await waitFor(() => all().length >= SHARDS.reduce((n, s) => n + cluster!.discord.ledger.events(s).length, 0), { timeoutMs: 20_000, message: 'every event handled by some node' });
      for (const s of SHARDS) {
        const check = cluster.discord.ledger.check(s, handledBy(all(), s));
        expect(check.lost, `shard ${s} lost`).toEqual([]);
        expect(check.duplicated, `shard ${s} duplicated`).toEqual([]);
      }
      expect(node.handled().some((h) => h.shardId === shardId), 'the moved shard was handled on Deno before the move').toBe(true);
      expect(cluster.recorded.some((r) => r.shardId === shardId && r.seq > handledSeq), 'and on Node after it').toBe(true);
      expect(cluster.discord.stats.identifies).toBe(identifies);
      if (process.env['SHARDLINE_PRINT_FIGURES']) {
        console.log('mixed', JSON.stringify({ denoShards, movedTo, handledOnDeno: node.handled().length, handledOnNode: cluster.recorded.length, handledSeq }));
      }
      expect(await node.stop()).toBe(0);
    },
    150_000,
  );
});

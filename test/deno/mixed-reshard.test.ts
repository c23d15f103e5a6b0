import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isIdCarrying } from '../../src/core/event-identity.ts';
import { RESHARD_MIX, admin, answeringBot } from '../helpers/reshard-checks.ts';
import { SimCluster } from '../helpers/sim-cluster.ts';
import { tempDir, type Recorded } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { DENO_NODE, DenoNode, hasDeno } from './deno-node.ts';

interface StatusShard {
  shardId: number;
  shardCount: number;
  status: string;
  mode: string;
}

/** A live reshard of a cluster with a Deno node in it: the Deno node runs new-set shards, holds them back, takes over, and hands its old ones over. */
describe('a Deno node in a live reshard', () => {
  let cluster: SimCluster | undefined;
  let denoNode: DenoNode | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    await denoNode?.stop();
    denoNode = undefined;
    await cluster?.close();
    cluster = undefined;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!hasDeno)('takes part in 4 -> 8: new shards run on Deno too, ids are handled once across both runtimes (skipped only when the deno npm package is not installed)', { timeout: 180_000 }, async () => {
    const recorded: Recorded[] = [];
    const c = (cluster = await new SimCluster({ shardCount: 4, bot: answeringBot(recorded), discord: { maxConcurrency: 4, world: { seed: 9, guilds: 48, membersPerGuild: 8 } } }).start(['node-a', 'node-b']));
    const primary = c.node('node-a');
    await waitFor(() => primary.host.isPrimary && c.running().size === 4, { timeoutMs: 20_000, message: 'node-a primary, every shard running' });
    const litefs = c.litefs.addNode(DENO_NODE, { candidate: false });
    await litefs.start();
    const dir = tempDir('shardline-mixed-reshard-');
    dirs.push(dir);
    const node = (denoNode = new DenoNode(c, litefs, dir, 4));
    await waitFor(() => node.url, { timeoutMs: 60_000, message: 'the Deno node prints its URL' }).catch((error: Error) => {
      throw new Error(`${error.message}; its output so far:\n${node.output}`, { cause: error });
    });
    const denoShards = async (): Promise<StatusShard[]> => ((await node.admin('GET', '/status')).json['shards'] as StatusShard[]) ?? [];
    await waitFor(async () => (await denoShards()).some((s) => s.status === 'ready'), { timeoutMs: 30_000, message: 'the Deno node runs a shard of the old set' });

    const since = c.discord.ledger.logicalEventCount;
    c.discord.traffic.start({ eventsPerSecond: 200, mix: RESHARD_MIX });
    await waitFor(() => recorded.length > 100);
    const started = await node.admin('POST', '/reshard', { shardCount: 8 });
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    await waitFor(
      async () => {
        if (primary.host.status().reshard?.phase !== 'done') return false;
        const onDeno = (await denoShards()).filter((s) => s.shardCount === 8 && s.status === 'ready' && s.mode === 'live');
        const onNode = ['node-a', 'node-b'].flatMap((id) => c.node(id).host.runners().filter((r) => r.shardCount === 8 && r.shard.status === 'ready' && r.mode === 'live').map((r) => r.shardId));
        const all = [...onDeno.map((s) => s.shardId), ...onNode].sort((a, b) => a - b);
        return onDeno.length > 0 && JSON.stringify(all) === JSON.stringify([0, 1, 2, 3, 4, 5, 6, 7]);
      },
      { timeoutMs: 90_000, message: 'eight new shards live, some on the Deno node' },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${c.dump()}\nDeno node output (tail):\n${node.output.slice(-3000)}`, { cause: error });
    });
    c.discord.traffic.stop();

    const all = (): Recorded[] => [...recorded, ...node.handled()];
    const check = (): ReturnType<typeof c.discord.ledger.checkLogical> => c.discord.ledger.checkLogical(all(), { since, idCarrying: isIdCarrying });
    await waitFor(() => check().lost.length === 0, { timeoutMs: 30_000, message: 'every routed event handled on some node' });
    expect(check().duplicatedIdCarrying).toEqual([]);
    expect(c.discord.stats.interactionsAnsweredTwice).toBe(0);
    const handledOnDenoInNewSet = node.handled().filter((h) => (c.discord.ledger.eventOf(h.sessionId, h.seq) ?? 0) > since && h.t !== 'READY');
    expect(handledOnDenoInNewSet.length).toBeGreaterThan(0);
    expect((await node.admin('GET', '/reshard')).json['reshard']).toMatchObject({ phase: 'done', to: 8 });
    expect(await admin(c, 'node-b', 'GET', '/reshard')).toMatchObject({ status: 200 });
    expect(await node.stop()).toBe(0);
  });
});

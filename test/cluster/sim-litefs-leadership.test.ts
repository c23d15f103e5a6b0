import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimLiteFs } from '../../src/litefs-sim/sim-litefs.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { leadershipContract, type LeadershipHarness } from './leadership.contract.ts';

leadershipContract('simulated LiteFS', async (): Promise<LeadershipHarness> => {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-simlitefs-'));
  const cluster = new SimLiteFs({ dir, driverFactory: betterSqlite3Driver, ttlMs: 600, lockDelayMs: 100 });
  const nodes = [cluster.addNode('node-a'), cluster.addNode('node-b'), cluster.addNode('node-c'), cluster.addNode('node-r', { candidate: false })];
  for (const node of nodes) await node.start();
  cluster.start();
  return {
    get nodes() {
      return nodes.map((n) => ({ hostname: n.hostname, url: n.url }));
    },
    nonCandidate: 'node-r',
    failoverMs: 3_000,
    kill: (hostname) => cluster.node(hostname).kill(),
    restart: (hostname) => cluster.node(hostname).start(),
    close: async () => {
      await cluster.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

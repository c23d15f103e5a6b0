import { afterAll, beforeAll } from 'vitest';
import { leadershipContract, type LeadershipHarness } from '../cluster/leadership.contract.ts';
import { LiteFsCluster } from './litefs-cluster.ts';
import { liteFsPrerequisites, type LiteFsTools } from './prerequisites.ts';

// Lease TTL 2 s (Consul's session_ttl_min is lowered to 1 s by the harness), lock-delay 500 ms,
// reconnect 200 ms: a crashed primary is replaced after about 2 x TTL + lock-delay (~4.5 s).
// failoverMs leaves room for a loaded 2-core machine; the contract waits up to 3x that.
const FAILOVER_MS = 10_000;

let tools: LiteFsTools;
const clusters: LiteFsCluster[] = [];

beforeAll(() => {
  tools = liteFsPrerequisites();
});

afterAll(async () => {
  // Clusters a failed test left running (close is idempotent).
  await Promise.allSettled(clusters.map((c) => c.close()));
});

leadershipContract('real LiteFS + Consul', async (): Promise<LeadershipHarness> => {
  const cluster = await LiteFsCluster.start({
    tools,
    nodes: [{ hostname: 'n1' }, { hostname: 'n2' }, { hostname: 'n3' }, { hostname: 'r1', candidate: false }],
    ttl: '2s',
    lockDelay: '500ms',
    reconnectDelay: '200ms',
    keepDir: process.env['SHARDLINE_LITEFS_KEEP'] === '1',
  });
  clusters.push(cluster);
  return {
    nodes: cluster.nodes.map((n) => ({ hostname: n.hostname, url: n.url })),
    nonCandidate: 'r1',
    failoverMs: FAILOVER_MS,
    kill: (hostname) => cluster.kill(hostname),
    restart: (hostname) => cluster.restart(hostname),
    close: () => cluster.close(),
  };
});

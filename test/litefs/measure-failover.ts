/**
 * Measures real LiteFS timings with the test harness (not a test: no thresholds anywhere).
 * Usage: npx tsx test/litefs/measure-failover.ts [TTL,LOCK_DELAY,RECONNECT_DELAY] [RUNS]
 * e.g. `npx tsx test/litefs/measure-failover.ts 2s,500ms,200ms 4`; one JSON line per run.
 * Per run: start a 3-node cluster, SIGKILL the primary, poll the survivors' /info every 20 ms
 * until one is primary, then /promote the other survivor (retrying its 500s) and close.
 */
import { LiteFsCluster } from './litefs-cluster.ts';
import { liteFsPrerequisites } from './prerequisites.ts';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const [ttl = '2s', lockDelay = '500ms', reconnectDelay = '200ms'] = (process.argv[2] ?? '').split(',').map((v) => v || undefined);
const runs = Number(process.argv[3] ?? 3);
const tools = liteFsPrerequisites();

for (let run = 0; run < runs; run++) {
  const started = Date.now();
  const cluster = await LiteFsCluster.start({ tools, nodes: [{ hostname: 'n1' }, { hostname: 'n2' }, { hostname: 'n3' }], ttl, lockDelay, reconnectDelay });
  try {
    const startMs = Date.now() - started;
    const killed = Date.now();
    await cluster.kill('n1');
    let next: string | null = null;
    while (next === null) {
      for (const hostname of ['n2', 'n3']) if ((await cluster.info(hostname))?.isPrimary) next = hostname;
      if (next === null) await pause(20);
    }
    const failoverMs = Date.now() - killed;
    const other = next === 'n2' ? 'n3' : 'n2';
    const asked = Date.now();
    let promoteRetries = 0;
    while ((await fetch(`${cluster.node(other).url}/promote`, { method: 'POST' })).status !== 200) {
      promoteRetries++;
      await pause(50);
    }
    while ((await cluster.info(other))?.isPrimary !== true) await pause(10);
    const promoteMs = Date.now() - asked;
    const closing = Date.now();
    await cluster.close();
    console.log(JSON.stringify({ ttl, lockDelay, reconnectDelay, startMs, failoverMs, promoteMs, promoteRetries, closeMs: Date.now() - closing }));
  } finally {
    await cluster.close();
  }
}

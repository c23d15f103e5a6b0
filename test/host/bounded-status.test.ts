/**
 * GET /status, the dashboard and /metrics are bounded whatever the cluster tables and the
 * gateway hold: a nodes table that kept every machine that ever joined, events with huge
 * details, node rows with long URLs, and a gateway sending a new dispatch name with every
 * frame. Each list is cut where it is read, so the answer's size follows the shard count only.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { STATUS_LIMITS, type HostStatus } from '../../src/host/host-status.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { recordingBot, tempDir, testHost } from '../helpers/test-host.ts';

const ADMIN = 'admin-token-for-bounded-status-0123456789';
const KiB = 1024;

describe('what the node reports stays bounded', () => {
  let discord: FakeDiscord;
  let dataDir: string;
  let host: Host;
  const get = (path: string): Promise<Response> => fetch(`${host.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });

  beforeAll(async () => {
    discord = new FakeDiscord({ shards: 1, identifySpacingMs: 10, world: { seed: 4, guilds: 3, membersPerGuild: 5 } });
    await discord.start();
    dataDir = tempDir();
    host = testHost(discord, { dataDir, bot: recordingBot(), serveHttp: true, env: { SHARDLINE_ADMIN_TOKEN: ADMIN } });
    await host.start();
    // Rows no running node would write this way, put there beside the node's own writer.
    const db = openDatabase({ path: join(dataDir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    try {
      db.transaction(() => {
        const node = db.prepare("INSERT INTO nodes (id, url, version, started_at, last_heartbeat_at, draining, meta) VALUES (?, ?, ?, 0, ?, 0, '{}')");
        for (let i = 0; i < 5_000; i++) node.run([`ghost-${i}`, `http://${'h'.repeat(2_000)}.example/${i}`, 'v'.repeat(64), i]);
        const event = db.prepare("INSERT INTO cluster_events (at, kind, node_id, shard_id, detail) VALUES (?, 'move', 'ghost-1', 0, ?)");
        for (let i = 0; i < 200; i++) event.run([Date.now(), JSON.stringify({ reason: 'r'.repeat(100_000) })]);
      });
    } finally {
      db.close();
    }
    // A gateway that names every dispatch anew.
    for (let i = 0; i < 2_000; i++) discord.dispatchGlobal(`FUZZ_EVENT_${i}`, { i });
    await waitFor(() => (host.runners()[0]?.stats().events ?? 0) >= 2_000, { message: 'the fuzzed dispatches handled' });
  });

  afterAll(async () => {
    await host.close();
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('GET /status lists the nodes heard from last, the last events with huge details left out, and a bounded set of event names', async () => {
    const res = await get('/status');
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text.length).toBeLessThan(800 * KiB);
    const status = JSON.parse(text) as HostStatus;
    expect(status.nodes).toHaveLength(STATUS_LIMITS.nodes);
    expect(status.nodes.map((n) => n.id)).toContain('node-1');
    expect(status.events).toHaveLength(STATUS_LIMITS.events);
    expect(status.events.filter((e) => e.kind === 'move')[0]!.detail).toEqual({ omitted: 'detail over 4096 bytes' });
    expect(Object.keys(status.shards[0]!.eventsByType).length).toBeLessThan(120);
    expect(status.shards[0]!.eventsByType['OTHER']).toBeGreaterThan(1_900);
  });

  it('the dashboard and /metrics stay bounded too', async () => {
    const live = await get('/dashboard/live');
    expect(live.status).toBe(200);
    expect((await live.text()).length).toBeLessThan(800 * KiB);
    const metrics = await get('/metrics');
    const text = await metrics.text();
    expect(text.match(/^shardline_\w+_events_total\{[^}]*FUZZ_EVENT/gm)?.length ?? 0).toBe(16);
    expect(text.length).toBeLessThan(200 * KiB);
  });
});

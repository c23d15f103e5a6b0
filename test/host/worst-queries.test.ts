/**
 * The worst read-only queries we could think of, through POST /query, ctx.query() and
 * ctx.sql(), against a live node whose shards are busy with traffic. Each gets a clear error
 * (or a bounded answer), and meanwhile the node keeps its invariants: its event loop never
 * stops itself for 100 ms (its own stall monitor counts that at a 100 ms threshold here, by the
 * event loop thread's CPU time, so a machine busy with other work does not count), its
 * memory does not grow with what the queries asked for, its heartbeats keep flowing and no
 * shard reconnects, and every event the simulator sent is handled exactly once.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/bot.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { threadCpuMs } from '../../src/runtime/thread-cpu.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { handledBy, recordingBot, tempDir, testHost, type Recorded } from '../helpers/test-host.ts';

const ADMIN = 'admin-token-for-worst-queries-0123456789';
const MiB = 1024 * 1024;

/** `n` rows from a recursive CTE, as a FROM clause. */
const rows = (n: number): string => `(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c LIMIT ${n}) SELECT i FROM c)`;
const manyColumns = (n: number, expr: string): string => Array.from({ length: n }, (_, i) => `${expr} AS c${i}`).join(', ');
const DOUBLING = "WITH RECURSIVE c(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM c WHERE length(s) < 134217728)";

type Outcome = 'TOO_LARGE' | 'TIMEOUT' | null;

interface Worst {
  readonly name: string;
  readonly sql: string;
  readonly params?: readonly unknown[];
  /** POST /query's error code; null: a bounded answer (200, `truncated` where rows were left out). */
  readonly code: Outcome;
  /** ctx.query()'s, where it differs: a bot gets an error, never part of an answer. */
  readonly bot?: Outcome;
  readonly limits?: { readonly timeoutMs?: number; readonly maxRows?: number };
  /**
   * Also run on the event loop through ctx.sql(), which must stop it by its bytes between rows
   * (only queries that never stay inside one step for long, and whose rows are large: ctx.sql()'s
   * 100,000-row bound is its own, older backstop, and reading that many rows on the loop takes a while).
   */
  readonly onLoop?: Outcome;
}

const WORST: readonly Worst[] = [
  { name: 'a thousand 1 MB blobs', sql: `SELECT randomblob(1000000) FROM ${rows(1000)}`, code: 'TOO_LARGE', onLoop: 'TOO_LARGE' },
  { name: 'one 400 MB zeroblob', sql: 'SELECT zeroblob(400000000)', code: 'TOO_LARGE' },
  { name: 'one 300 MB string from printf', sql: "SELECT printf('%.*c', 300000000, 'x')", code: 'TOO_LARGE' },
  { name: 'a string doubled until it is 128 MB', sql: `${DOUBLING} SELECT s FROM c`, code: 'TOO_LARGE', onLoop: 'TOO_LARGE' },
  { name: 'the largest string the doubling makes, sorted first (built inside one step)', sql: `${DOUBLING} SELECT length(s), s FROM c ORDER BY 1 DESC`, code: 'TOO_LARGE' },
  { name: 'a three-way cross join of members with their raw JSON', sql: 'SELECT a.raw, b.raw, c.raw FROM members a, members b, members c', code: 'TOO_LARGE', limits: { maxRows: 10_000 }, onLoop: 'TOO_LARGE' },
  { name: 'a four-way cross join of members sorted at random', sql: 'SELECT a.user_id, b.user_id FROM members a, members b, members c, members d ORDER BY random()', code: 'TIMEOUT', limits: { timeoutMs: 300 } },
  { name: 'a recursive CTE with no end, counted', sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c', code: 'TIMEOUT', limits: { timeoutMs: 300 } },
  { name: 'a recursive CTE with no end, listed', sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c', code: null, bot: 'TOO_LARGE', limits: { maxRows: 10_000 } },
  { name: 'every raw JSON of members and users in one group_concat, two hundred times over', sql: `SELECT group_concat(m.raw || u.raw) FROM members m JOIN users u ON u.id = m.user_id, ${rows(200)}`, code: 'TOO_LARGE' },
  { name: 'a JSON array of 100 000 hex blobs', sql: `SELECT json_group_array(hex(randomblob(1000))) FROM ${rows(100_000)}`, code: 'TOO_LARGE' },
  { name: '2000 columns of 20 kB blobs', sql: `SELECT ${manyColumns(2000, 'randomblob(20000)')}`, code: 'TOO_LARGE' },
  { name: '2000 small columns', sql: `SELECT ${manyColumns(2000, '1')}`, code: null, onLoop: null },
  {
    name: 'five hundred 400-character parameters echoed back a thousand times',
    sql: `SELECT ${Array.from({ length: 500 }, () => '?').join(' || ')} FROM ${rows(1000)}`,
    params: Array.from({ length: 500 }, (_, i) => `${i}`.padEnd(400, 'p')),
    code: 'TOO_LARGE',
    onLoop: 'TOO_LARGE',
  },
  { name: 'a parameter turned into 500 MB by replace()', sql: "SELECT replace(printf('%.*c', 5000000, 'x'), 'x', ?)", params: ['y'.repeat(100)], code: 'TOO_LARGE' },
];

describe('the worst read-only queries against a live node under traffic', () => {
  let discord: FakeDiscord;
  let dataDir: string;
  let host: Host;
  let ctx: BotContext;
  const recorded: Recorded[] = [];
  let sampler: ReturnType<typeof setInterval> | undefined;

  beforeAll(async () => {
    discord = new FakeDiscord({ shards: 2, heartbeatIntervalMs: 1_000, identifySpacingMs: 10, world: { seed: 18, guilds: 12, membersPerGuild: 40 } });
    await discord.start();
    dataDir = tempDir();
    let context: BotContext | null = null;
    host = testHost(discord, {
      dataDir,
      bot: { ...recordingBot(undefined, recorded), shardReady: (_info, c) => void (context = c) },
      serveHttp: true,
      env: { SHARDLINE_ADMIN_TOKEN: ADMIN },
      queryThreads: { graceMs: 200, maxMemoryBytes: 256 * MiB },
      loopStall: { thresholdMs: 100 },
    });
    await host.start();
    ctx = await waitFor(() => context);
    await waitFor(() => Number(host.query('select count(*) from guilds').rows[0]![0]) === 12, { timeoutMs: 30_000, message: 'guilds cached' });
    discord.traffic.start({ eventsPerSecond: 200 });
  });

  afterAll(async () => {
    clearInterval(sampler);
    discord.traffic.stop();
    await host.close();
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function post(body: unknown): Promise<Response> {
    return fetch(`${host.url}/query`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  it('answers each with a clear error or a bounded answer, and the node never notices', async () => {
    // Warm both query processes so their start-up is not part of what is measured.
    expect((await post({ sql: 'SELECT 1' })).status).toBe(200);
    await ctx.query('SELECT 1');
    const before = { stalls: host.status().eventLoop.busyStalls, sim: discord.stats, reconnects: host.runners().map((r) => r.stats().reconnects), rss: process.memoryUsage().rss };
    let rssPeak = before.rss;
    sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 10);

    for (const worst of WORST) {
      const res = await post({ sql: worst.sql, params: worst.params ?? [], ...worst.limits });
      const text = await res.text();
      if (worst.code === null) {
        expect(res.status, `${worst.name}: ${text.slice(0, 300)}`).toBe(200);
        expect(new TextEncoder().encode(text).byteLength).toBeLessThanOrEqual(4 * MiB);
      } else {
        const error = (JSON.parse(text) as { error?: { code: string; message: string } }).error;
        expect(error?.code, `${worst.name}: ${res.status} ${text.slice(0, 300)}`).toBe(worst.code);
        expect(error!.message, worst.name).toMatch(worst.code === 'TOO_LARGE' ? /maxBytes|memory limit|larger than SQLite/ : /time limit/);
      }

      const bot = worst.bot === undefined ? worst.code : worst.bot;
      const viaBot = ctx.query(worst.sql, worst.params ?? [], { maxRows: 10_000, ...worst.limits });
      if (bot === null) await expect(viaBot, worst.name).resolves.toBeInstanceOf(Array);
      else await expect(viaBot, worst.name).rejects.toMatchObject({ code: bot });

      // A query stopped inside a step holds its process's slot until the process is gone.
      await waitFor(() => host.status().queries!.abandoned === 0 && host.status().botQueries!.abandoned === 0, { message: 'stopped query processes gone' });
    }
    clearInterval(sampler);

    // The node itself: no stall, no growth with what was asked for, heartbeats acked all along.
    const loop = host.status().eventLoop;
    const after = { sim: discord.stats, reconnects: host.runners().map((r) => r.stats().reconnects) };
    // Counted by the node's stall monitor at 100 ms: the stalls its event loop thread worked through
    // (a loop the machine did not run, on a crowded test machine, is not the node's doing).
    expect(loop.busyStalls, `event loop stalls the node caused, the longest ${loop.maxBusyStallMs} ms (all stalls: ${loop.stalls})`).toBe(before.stalls);
    // Heartbeats flowed all along: acked, and no shard closed as a zombie (an ACK missing
    // between two heartbeats), reconnected, resumed or identified.
    expect(after.sim.heartbeatAcks - before.sim.heartbeatAcks).toBeGreaterThan(0);
    expect(after.sim.heartbeatAcks - before.sim.heartbeatAcks).toBe(after.sim.heartbeats - before.sim.heartbeats);
    expect(after.reconnects).toEqual(before.reconnects);
    expect(after.sim.identifies).toBe(before.sim.identifies);
    expect(after.sim.resumes).toBe(before.sim.resumes);
    expect(rssPeak - before.rss, `the node grew from ${before.rss >> 20} MB to ${rssPeak >> 20} MB`).toBeLessThan(200 * MiB);
    expect(host.readiness()).toEqual({ ready: true, reasons: [] });

    // ctx.sql() runs on the event loop by design (quick lookups): what it owes is a clear error
    // past its byte backstop, not a short stall, so it is checked after the stall count above.
    for (const worst of WORST) {
      if (worst.onLoop === undefined) continue;
      const run = (): unknown => ctx.sql(worst.sql, worst.params ?? []);
      if (worst.onLoop === null) expect(run, worst.name).not.toThrow();
      else expect(run, worst.name).toThrow(expect.objectContaining({ code: worst.onLoop }));
    }
  });

  it('would have seen a stall: 300 ms of work on the event loop is counted as one', async () => {
    const before = host.status().eventLoop.busyStalls;
    const start = threadCpuMs()!;
    while (threadCpuMs()! - start < 300) {
      // The kind of synchronous work the bounds keep off the loop.
    }
    await waitFor(() => host.status().eventLoop.busyStalls > before, { message: 'the stall counted' });
  });

  it('lost no event while the queries ran, and the cache still answers', async () => {
    discord.traffic.stop();
    for (const shardId of [0, 1]) {
      await waitFor(() => discord.ledger.check(shardId, handledBy(recorded, shardId)).lost.length === 0, { message: `shard ${shardId} caught up` });
      expect(discord.ledger.check(shardId, handledBy(recorded, shardId))).toMatchObject({ lost: [], duplicated: [], outOfOrder: 0 });
    }
    const res = await post({ sql: 'SELECT count(*) AS n FROM guilds' });
    expect(await res.json()).toEqual({ columns: ['n'], rows: [[12]], truncated: false });
  });
});

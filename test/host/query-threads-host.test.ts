import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { BotContext } from '../../src/bot.ts';
import type { Host } from '../../src/host.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { captureLogger } from '../helpers/log-sink.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { recordingBot, tempDir, testHost } from '../helpers/test-host.ts';

const ADMIN = 'admin-token-for-query-tests-0123456789';
// Counted inside one SQLite step that never ends: no row comes back to check a clock against.
const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c';

describe('POST /query on query threads', () => {
  let discord: FakeDiscord;
  let dataDir: string;
  let host: Host | null = null;

  beforeEach(async () => {
    discord = new FakeDiscord({ shards: 1, identifySpacingMs: 10, world: { seed: 9, guilds: 4, membersPerGuild: 6 } });
    await discord.start();
    dataDir = tempDir();
  });

  afterEach(async () => {
    await host?.close();
    host = null;
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Every guild of the simulated world is in the cache. */
  const cached = (h: Host): Promise<unknown> => waitFor(() => Number(h.query('select count(*) from guilds').rows[0]![0]) === 4, { timeoutMs: 30_000, message: 'guilds cached' });

  async function started(): Promise<Host> {
    host = testHost(discord, { dataDir, bot: recordingBot(), serveHttp: true, env: { SHARDLINE_ADMIN_TOKEN: ADMIN }, queryThreads: { graceMs: 50 } });
    await host.start();
    await cached(host);
    return host;
  }

  function post(h: Host, body: unknown): Promise<Response> {
    return fetch(`${h.url}/query`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  it('answers what the event loop connection answers', async () => {
    const h = await started();
    const sql = 'select id, name, member_count from guilds order by id';
    const res = await post(h, { sql });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { columns: string[]; rows: unknown[][] };
    const local = h.query(sql);
    expect(body.columns).toEqual(local.columns);
    expect(body.rows).toEqual(local.rows);
    const bad = await post(h, { sql: 'select nope from guilds' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'INVALID_INPUT', message: expect.stringMatching(/no such column: nope/) } });
  });

  it('abandons a statement stuck past its time limit while the event loop keeps running, and kills its query process', async () => {
    const h = await started();
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    let res: Response;
    try {
      res = await post(h, { sql: RUNAWAY, timeoutMs: 100 });
    } finally {
      clearInterval(ticker);
    }
    // On the event loop this statement would never have answered, and no tick would have come.
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'TIMEOUT', message: expect.stringMatching(/inside one SQLite step/) } });
    expect(ticks).toBeGreaterThan(0);

    // The shards did not notice.
    expect(h.readiness().ready).toBe(true);
    expect(h.status().queries).toMatchObject({ abandonedTotal: 1 });
    // The process was killed, not left to run: the slot frees and a new process answers.
    await waitFor(() => h.status().queries!.abandoned === 0, { message: 'the abandoned query process is gone' });
    const next = await post(h, { sql: 'select 1 as one' });
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ rows: [[1]] });
  });

  it('runs queries on the event loop where the runtime has no threads, and logs why when the runtime says', async () => {
    const { queryWorkers: _none, ...node } = createNodeRuntime();
    const runtime = { ...node, queryWorkersMissing: 'no query processes here (a test runtime)' };
    const log = captureLogger('info');
    host = testHost(discord, { dataDir, bot: recordingBot(), serveHttp: true, env: { SHARDLINE_ADMIN_TOKEN: ADMIN }, runtime, logger: log.logger });
    await host.start();
    await cached(host);
    const res = await post(host, { sql: 'select count(*) as n from guilds' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ rows: [[4]] });
    expect(log.lines()).toContainEqual(expect.objectContaining({ level: 40, msg: 'no query processes here (a test runtime)' }));
  });

  it("gives bots the same off-loop SQL as ctx.query(), with rows as objects and an incomplete answer as an error", async () => {
    let context: BotContext | null = null;
    host = testHost(discord, { dataDir, bot: { ...recordingBot(), shardReady: (_info, ctx) => void (context = ctx) }, queryThreads: { graceMs: 50 } });
    await host.start();
    await cached(host);
    const ctx = await waitFor(() => context);

    const local = host.query('select id, name from guilds order by id');
    const rows = await ctx.query<{ id: string; name: string }>('select id, name from guilds where id >= ? order by id', ['0']);
    expect(rows).toEqual(local.rows.map(([id, name]) => ({ id, name })));
    await expect(ctx.query('select id from guilds', [], { maxRows: 2 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await expect(ctx.query('delete from guilds')).rejects.toMatchObject({ code: 'INVALID_INPUT' });

    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    try {
      await expect(ctx.query(RUNAWAY, [], { timeoutMs: 100 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    } finally {
      clearInterval(ticker);
    }
    // ctx.sql() would have held the event loop for ever; ctx.query() left it to the shards.
    expect(ticks).toBeGreaterThan(0);
    expect(host.readiness().ready).toBe(true);
  });

  it("keeps the bot's queries apart from POST /query's: an operator's runaway statement does not make ctx.query() wait", async () => {
    let context: BotContext | null = null;
    host = testHost(discord, { dataDir, bot: { ...recordingBot(), shardReady: (_info, ctx) => void (context = ctx) }, serveHttp: true, env: { SHARDLINE_ADMIN_TOKEN: ADMIN }, queryThreads: { graceMs: 50 } });
    await host.start();
    const ctx = await waitFor(() => context);
    const h = host;
    await cached(h);
    // The API's only slot is taken by a statement that runs until its limit.
    const operator = post(h, { sql: RUNAWAY, timeoutMs: 3_000 });
    await waitFor(() => h.status().queries!.running === 1, { message: "the operator's query started" });
    expect(await ctx.query<{ n: number }>('select count(*) as n from guilds')).toEqual([{ n: 4 }]);
    expect(h.status().queries!.running, 'the operator query was still running when the bot got its answer').toBe(1);
    expect(h.status().botQueries).toMatchObject({ running: 0, abandoned: 0 });
    expect((await operator).status).toBe(504);
  });
});

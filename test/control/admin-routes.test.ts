import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlApp, type ControlDeps } from '../../src/control/create-control-app.ts';
import type { ControlOperations, PrimaryOperations } from '../../src/control/control-operations.ts';
import { ShardlineError } from '../../src/core/errors.ts';
import type { ResumeInfo } from '../../src/core/resume-info.ts';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { runReadOnlyQuery } from '../../src/store/queries.ts';
import { captureLogger } from '../helpers/log-sink.ts';
import { tempDir } from '../helpers/test-host.ts';

const ADMIN = 'admin-token-0123456789abcdef';
const SECRET = 'cluster-secret-0123456789abcdef';
const auth = { authorization: `Bearer ${ADMIN}` };
const internalAuth = { authorization: `Bearer ${SECRET}` };

const INFO: ResumeInfo = { shardId: 3, shardCount: 4, sessionId: 'sess-3', seq: 41, resumeGatewayUrl: 'ws://127.0.0.1:9/gateway' };

type Ops = ControlOperations & PrimaryOperations;

/** A node whose operations record their calls; `fail` makes one operation throw. */
function setup(options: { fail?: Partial<Record<keyof Ops, ShardlineError>>; drainDone?: boolean; deps?: Partial<ControlDeps> } = {}) {
  const calls: { op: string; args: unknown[] }[] = [];
  const record = <T>(op: keyof Ops, args: unknown[], value: T): T => {
    const failure = options.fail?.[op];
    calls.push({ op, args });
    if (failure) throw failure;
    return value;
  };
  const operations: Ops = {
    shardCount: () => 4,
    takeover: async (o) => record('takeover', [o], { tookMs: 12, alreadyPrimary: false, primary: 'node-a' }),
    handoff: async (shardId) => record('handoff', [shardId], { ...INFO, shardId }),
    resume: async (shardId, info) => record('resume', [shardId, info], { shardId, epoch: 7, node: 'node-a' }),
    move: async (shardId, to, o) => record('move', [shardId, to, o], { shardId, from: 'node-a', to, epoch: 5, seq: 40, tookMs: 30, gapMs: 9 }),
    drain: async (nodeId, draining, o) =>
      record('drain', [nodeId, draining, o], { node: nodeId, draining, shards: options.drainDone === false ? [1] : [], done: options.drainDone ?? true, tookMs: 3 }),
    metrics: () => ({
      role: 'primary',
      shards: [{ shardId: 2, status: 'ready', events: 5, eventsByType: { GUILD_CREATE: 3, MESSAGE_CREATE: 2 }, identifies: 1, resumes: 2, reconnects: 1, heartbeatMs: 42 }],
      funnel: { queuedEntries: 4, queuedRows: 9, transactions: 11, committedRows: 100, totalFlushMs: 250, maxBatchMutations: 60, failedTransactions: 0, lastBatch: { mutations: 7, durationMs: 3 }, threadHeapBytes: 5242880, threadRestarts: 1 },
      forwarder: { queuedEntries: 0, failures: 0 },
      queries: { running: 1, abandoned: 1, abandonedTotal: 3 },
      botQueries: { running: 2, abandoned: 0, abandonedTotal: 4 },
      eventLoop: { stalls: 2, stalledMs: 1500, maxStallMs: 1200 },
      identify: { total: 1000, remaining: 990, granted: 10, reserve: 50 },
    }),
    releaseShard: async (request) => record('releaseShard', [request], INFO),
    claimShard: async (request) => record('claimShard', [request], { shardId: request.shardId, epoch: 8, node: request.nodeId }),
    setDraining: async (nodeId, draining) => void record('setDraining', [nodeId, draining], undefined),
    shardStats: (shardId) => (shardId === 2 ? { status: 'ready', readySince: 1, seq: 5 } : null),
  };
  const log = captureLogger();
  const unused = (): never => {
    throw new Error('not used by these tests');
  };
  const app = createControlApp({
    adminToken: ADMIN,
    clusterSecret: SECRET,
    logger: log.logger,
    readiness: () => ({ ready: true, reasons: [] }),
    status: () => ({ node: { id: 'node-a' }, shards: [] }),
    query: () => ({ columns: [], rows: [], truncated: false }),
    internal: { heartbeat: unused, acceptWrites: unused, identify: unused, detach: unused, start: unused },
    operations,
    ...options.deps,
  });
  return { app, calls, log };
}

const post = (body?: unknown, headers: Record<string, string> = auth): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
});

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const json = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(json)).toEqual(['error']);
  return json.error;
}

const ADMIN_ROUTES: [string, string, unknown][] = [
  ['POST', '/takeover', undefined],
  ['POST', '/shards/3/handoff', undefined],
  ['POST', '/shards/3/resume', INFO],
  ['POST', '/shards/3/move', { to: 'node-b' }],
  ['POST', '/nodes/node-b/drain', undefined],
  ['POST', '/nodes/node-b/undrain', undefined],
  ['GET', '/metrics', undefined],
  ['GET', '/status', undefined],
];

describe('admin routes: authentication', () => {
  it.each(ADMIN_ROUTES)('%s %s refuses no token, a wrong token and the cluster secret, and does nothing', async (method, path, body) => {
    const { app, calls } = setup();
    for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, internalAuth]) {
      const res = await app.request(path, method === 'GET' ? { headers } : post(body, headers));
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe('UNAUTHORIZED');
    }
    expect(calls).toEqual([]);
  });

  it.each([
    ['/internal/shards/3/release', { nodeId: 'node-a', epoch: 2 }],
    ['/internal/shards/3/claim', { nodeId: 'node-a', resume: INFO }],
    ['/internal/shards/3/move', { to: 'node-b' }],
    ['/internal/nodes/node-b/drain', { draining: true }],
    ['/internal/shards/2/stats', {}],
  ])('internal %s refuses the admin token and accepts the cluster secret', async (path, body) => {
    const { app, calls } = setup();
    const refused = await app.request(path, post(body, auth));
    expect(refused.status).toBe(401);
    expect((await errorOf(refused)).message).toMatch(/Wrong bearer token for the internal API/);
    expect(calls).toEqual([]);
    const accepted = await app.request(path, post(body, internalAuth));
    expect(accepted.status).toBe(200);
  });

  it('refuses to build an app whose admin token equals the cluster secret', () => {
    expect(() => setup({ deps: { clusterSecret: ADMIN } })).toThrow(/must differ/);
  });

  it('keeps the operations closed when no admin token is configured', async () => {
    const { app, calls } = setup({ deps: { adminToken: null } });
    const res = await app.request('/takeover', post(undefined, { authorization: 'Bearer anything-at-all' }));
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toMatch(/admin API is disabled/);
    expect(calls).toEqual([]);
  });
});

describe('POST /takeover', () => {
  it('answers the time it took and the primary, with a bounded default wait', async () => {
    const { app, calls } = setup();
    const res = await app.request('/takeover', post());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ tookMs: 12, alreadyPrimary: false, primary: 'node-a' });
    expect(calls).toEqual([{ op: 'takeover', args: [{ timeoutMs: 15_000 }] }]);
  });

  it.each([
    ['CONFLICT', 409, 'Cannot promote: this node is not a LiteFS lease candidate'],
    ['NO_PRIMARY', 503, 'Cannot promote: LiteFS answered 500: no primary is currently available'],
    ['TIMEOUT', 504, 'LiteFS accepted the promotion but this node was not primary after 10 ms'],
  ] as const)('maps %s to %i with the reason', async (code, status, message) => {
    const { app } = setup({ fail: { takeover: new ShardlineError(code, message) } });
    const res = await app.request('/takeover', post({ timeoutMs: 10 }));
    expect(res.status).toBe(status);
    expect(await errorOf(res)).toEqual({ code, message });
  });

  it.each([
    ['bad JSON', '{nope', /not valid JSON/],
    ['an unknown field', { force: true }, /force|Unrecognized/i],
    ['a timeout over the limit', { timeoutMs: 10_000_000 }, /timeoutMs/],
  ])('answers 400 for %s and does not promote', async (_name, body, message) => {
    const { app, calls } = setup();
    const res = await app.request('/takeover', post(body));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(message);
    expect(calls).toEqual([]);
  });
});

describe('POST /shards/:id/handoff and /resume', () => {
  it('answers the resume info of a detached shard', async () => {
    const { app, calls } = setup();
    const res = await app.request('/shards/3/handoff', post());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(INFO);
    expect(calls).toEqual([{ op: 'handoff', args: [3] }]);
  });

  it('answers 404 when the shard does not run here', async () => {
    const { app } = setup({ fail: { handoff: new ShardlineError('NOT_FOUND', 'Cannot hand off shard 3: it does not run on node-a') } });
    const res = await app.request('/shards/3/handoff', post());
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('NOT_FOUND');
  });

  it.each([
    ['a word', '/shards/abc/handoff', /Shard id must be a non-negative integer/],
    ['a negative id', '/shards/-1/handoff', /Shard id must be a non-negative integer/],
    ['an id beyond the shard count', '/shards/4/handoff', /No shard 4: this bot runs 4 shards/],
    ['a huge id', '/shards/99999999/resume', /Shard id must be a non-negative integer/],
  ])('answers 400 for %s', async (_name, path, message) => {
    const { app, calls } = setup();
    const res = await app.request(path, post(path.endsWith('resume') ? INFO : undefined));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(message);
    expect(calls).toEqual([]);
  });

  it('resumes with the handoff body as it came', async () => {
    const { app, calls } = setup();
    const res = await app.request('/shards/3/resume', post(INFO));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ shardId: 3, epoch: 7, node: 'node-a' });
    expect(calls).toEqual([{ op: 'resume', args: [3, INFO] }]);
  });

  it.each([
    ['bad JSON', '{"shardId": 3,', /not valid JSON/],
    ['a missing session id', { ...INFO, sessionId: undefined }, /sessionId/],
    ['an http resume URL', { ...INFO, resumeGatewayUrl: 'http://x' }, /resumeGatewayUrl must be a ws/],
    ['a negative seq', { ...INFO, seq: -1 }, /seq must be an integer/],
    ['an extra field', { ...INFO, epoch: 2 }, /epoch|Unrecognized/i],
  ])('refuses malformed resume info (%s) with 400 and changes nothing', async (_name, body, message) => {
    const { app, calls } = setup();
    const res = await app.request('/shards/3/resume', post(body));
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatch(message);
    expect(calls).toEqual([]);
  });

  it.each([
    ['a wrong shard count', { ...INFO, shardCount: 8 }, /resume info is for 8 shards, this bot runs 4/],
    ['another shard', { ...INFO, shardId: 2 }, /belongs to shard 2/],
  ])('refuses stale resume info (%s) with 409 before asking anyone', async (_name, body, message) => {
    const { app, calls } = setup();
    const res = await app.request('/shards/3/resume', post(body));
    expect(res.status).toBe(409);
    const error = await errorOf(res);
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toMatch(message);
    expect(calls).toEqual([]);
  });

  it('reports the primary-side refusal (seq behind) as 409', async () => {
    const { app } = setup({ fail: { resume: new ShardlineError('CONFLICT', 'Cannot resume shard 3 on node-a: seq 41 is behind the committed seq 50') } });
    const res = await app.request('/shards/3/resume', post(INFO));
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toMatch(/behind the committed seq 50/);
  });
});

describe('POST /shards/:id/move and /nodes/:id/drain', () => {
  it('moves and answers the gap', async () => {
    const { app, calls } = setup();
    const res = await app.request('/shards/1/move', post({ to: 'node-b' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ shardId: 1, from: 'node-a', to: 'node-b', epoch: 5, seq: 40, tookMs: 30, gapMs: 9 });
    expect(calls).toEqual([{ op: 'move', args: [1, 'node-b', undefined] }]);
  });

  it.each([
    ['no target', {}, /to/],
    ['a target that is not a node id', { to: '../etc' }, /node id/],
    ['bad JSON', 'to=node-b', /not valid JSON/],
  ])('refuses a move with %s', async (_name, body, message) => {
    const { app, calls } = setup();
    const res = await app.request('/shards/1/move', post(body));
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(message);
    expect(calls).toEqual([]);
  });

  it('names the primary when a replica cannot reach it', async () => {
    const { app } = setup({ fail: { move: new ShardlineError('NOT_PRIMARY', 'Cannot move shard 1: this node is not the primary; the primary is node-c') } });
    const res = await app.request('/shards/1/move', post({ to: 'node-b' }));
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toMatch(/the primary is node-c/);
  });

  it('answers 200 once the node is empty, 202 while shards are still leaving, and undrains', async () => {
    const done = setup();
    const ok = await done.app.request('/nodes/node-b/drain', post({ waitMs: 500 }));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ node: 'node-b', draining: true, shards: [], done: true, tookMs: 3 });
    expect(done.calls).toEqual([{ op: 'drain', args: ['node-b', true, { waitMs: 500 }] }]);

    const pending = setup({ drainDone: false });
    const accepted = await pending.app.request('/nodes/node-b/drain', post());
    expect(accepted.status).toBe(202);
    expect(await accepted.json()).toMatchObject({ done: false, shards: [1] });

    const undrain = await done.app.request('/nodes/node-b/undrain', post());
    expect(undrain.status).toBe(200);
    expect(done.calls.at(-1)).toEqual({ op: 'drain', args: ['node-b', false, { waitMs: 0 }] });
  });

  it('refuses a bad node id and an unknown node', async () => {
    const { app, calls } = setup();
    const bad = await app.request('/nodes/no%20de/drain', post());
    expect(bad.status).toBe(400);
    expect(calls).toEqual([]);
    const unknown = setup({ fail: { drain: new ShardlineError('NOT_FOUND', 'Cannot drain node node-x: no such node') } });
    const res = await unknown.app.request('/nodes/node-x/drain', post());
    expect(res.status).toBe(404);
  });

  it('refuses a body over the size limit with 413 before doing anything', async () => {
    const { app, calls } = setup();
    const big = JSON.stringify({ to: 'x'.repeat(300 * 1024) });
    const res = await app.request('/shards/1/move', post(big, { ...auth, 'content-length': String(big.length) }));
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('TOO_LARGE');
    expect(calls).toEqual([]);
  });
});

describe('GET /metrics and GET /status', () => {
  it('renders Prometheus text from the snapshot, with its own registry per app', async () => {
    const first = setup();
    const second = setup();
    for (const { app } of [first, second]) {
      const res = await app.request('/metrics', { headers: auth });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/plain/);
      const text = await res.text();
      expect(text).toContain('shardline_shard_events_total{shard="2",type="GUILD_CREATE"} 3');
      expect(text).toContain('shardline_shard_sessions_total{shard="2",kind="resume"} 2');
      expect(text).toContain('shardline_shard_heartbeat_latency_seconds{shard="2"} 0.042');
      expect(text).toContain('shardline_funnel_queue_entries 4');
      expect(text).toContain('shardline_funnel_last_batch_mutations 7');
      expect(text).toContain('shardline_funnel_transaction_seconds_total 0.25');
      expect(text).toContain('shardline_funnel_thread_heap_bytes 5242880');
      expect(text).toContain('shardline_funnel_thread_restarts_total 1');
      expect(text).toContain('shardline_identify_remaining 990');
      expect(text).toContain('shardline_query_running{pool="api"} 1');
      expect(text).toContain('shardline_query_abandoned{pool="api"} 1');
      expect(text).toContain('shardline_query_abandoned_total{pool="api"} 3');
      expect(text).toContain('shardline_query_running{pool="bot"} 2');
      expect(text).toContain('shardline_query_abandoned{pool="bot"} 0');
      expect(text).toContain('shardline_query_abandoned_total{pool="bot"} 4');
      expect(text).toContain('shardline_event_loop_stalls_total 2');
      expect(text).toContain('shardline_event_loop_stalled_seconds_total 1.5');
      expect(text).toContain('shardline_event_loop_max_stall_seconds 1.2');
      expect(text).toContain('shardline_role{role="primary"} 1');
      expect(text).toContain('shardline_role{role="replica"} 0');
    }
    // A second scrape reports the same totals, not their sum.
    const again = await (await first.app.request('/metrics', { headers: auth })).text();
    expect(again).toContain('shardline_funnel_transactions_total 11');
  });

  it('adds session age and events/s to each shard from successive snapshots', async () => {
    let now = 10_000;
    let events = 100;
    const { app } = setup({
      deps: {
        now: () => now,
        status: () => ({ node: { id: 'node-a' }, shards: [{ shardId: 1, events, readySince: 4_000, status: 'ready' }] }),
      },
    });
    const first = (await (await app.request('/status', { headers: auth })).json()) as { shards: Record<string, unknown>[] };
    expect(first.shards[0]).toMatchObject({ shardId: 1, sessionAgeMs: 6_000, eventsPerSecond: null });
    now += 2_000;
    events += 500;
    const second = (await (await app.request('/status', { headers: auth })).json()) as { shards: Record<string, unknown>[] };
    expect(second.shards[0]).toMatchObject({ sessionAgeMs: 8_000, eventsPerSecond: 250 });
  });
});

describe('POST /query limits', () => {
  const dirs: string[] = [];
  const dbs: SqliteDriver[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function withDatabase() {
    const dir = tempDir();
    dirs.push(dir);
    const db = openDatabase({ path: join(dir, 'q.db'), driverFactory: betterSqlite3Driver });
    dbs.push(db);
    db.exec('CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2);');
    return setup({ deps: { query: (sql, params, limits) => runReadOnlyQuery(db, sql, params, limits) } });
  }

  it('answers 504 for a query over its time limit', async () => {
    const { app } = withDatabase();
    const sql = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c';
    const res = await app.request('/query', post({ sql, timeoutMs: 1, maxRows: 10_000 }));
    expect(res.status).toBe(504);
    const error = await errorOf(res);
    expect(error.code).toBe('TIMEOUT');
    expect(error.message).toMatch(/time limit of 1 ms/);
  });

  it('refuses write SQL with 400 and the table is unchanged', async () => {
    const { app } = withDatabase();
    for (const sql of ['DELETE FROM t', 'INSERT INTO t VALUES (3)', 'DROP TABLE t', 'SELECT 1; DELETE FROM t']) {
      const res = await app.request('/query', post({ sql }));
      expect(res.status, sql).toBe(400);
      expect((await errorOf(res)).code).toBe('INVALID_INPUT');
    }
    const after = await app.request('/query', post({ sql: 'SELECT count(*) AS n FROM t' }));
    expect(await after.json()).toEqual({ columns: ['n'], rows: [[2]], truncated: false });
  });
});

describe('logging', () => {
  it('never writes the admin token or the cluster secret to the log', async () => {
    const { app, log } = setup({ fail: { takeover: new ShardlineError('INTERNAL', 'boom') }, deps: { status: () => { throw new Error(`status failed for ${'x'}`); } } });
    await app.request('/takeover', post());
    await app.request('/status', { headers: auth });
    await app.request('/status', { headers: { authorization: `Bearer ${SECRET}` } });
    await app.request('/internal/shards/3/release', post({ nodeId: 'n', epoch: 1 }, auth));
    await app.request('/shards/3/move', post({ to: 'node-b' }, { authorization: `Bearer ${ADMIN}x` }));
    expect(log.text()).toContain('boom');
    expect(log.text()).not.toContain(ADMIN);
    expect(log.text()).not.toContain(SECRET);
  });
});

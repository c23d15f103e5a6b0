import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.ts';
import { formatStatus } from '../../src/cli/admin-commands.ts';
import { createControlApp } from '../../src/control/create-control-app.ts';
import type { ControlOperations, PrimaryOperations } from '../../src/control/control-operations.ts';
import { ShardlineError } from '../../src/core/errors.ts';
import type { HttpServerHandle, Runtime } from '../../src/core/runtime.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { captureLogger } from '../helpers/log-sink.ts';

const TOKEN = 'admin-token-for-cli-0123456789';

function fakeRuntime(argv: string[], env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const runtime: Runtime = {
    ...createNodeRuntime(),
    argv,
    env,
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    onShutdownSignal: () => () => {},
  };
  return { runtime, out: () => out.join(''), err: () => err.join('') };
}

const STATUS = {
  node: { id: 'node-a', role: 'primary', primary: 'node-a', mode: 'cluster', version: '0.1.0' },
  shardCount: 4,
  shards: [{ shardId: 0, status: 'ready', epoch: 2, seq: 51, readySince: 1_000, events: 10 }],
  nodes: [
    { id: 'node-a', lastHeartbeatAt: 9_500, draining: false, version: '0.1.0' },
    { id: 'node-b', lastHeartbeatAt: 9_000, draining: true, version: '0.1.0' },
  ],
  assignments: [
    { shardId: 0, nodeId: 'node-a', state: 'assigned' },
    { shardId: 1, nodeId: 'node-a', state: 'assigned' },
    { shardId: 2, nodeId: 'node-b', state: 'assigned' },
    { shardId: 3, nodeId: null, state: 'detached' },
  ],
  identify: { total: 1000, remaining: 990, reserve: 50, resetAt: 10_000 + 3_600_000 },
};

describe('shardline takeover / move / drain / status', () => {
  let server: HttpServerHandle | null = null;
  const calls: string[] = [];
  const failures = new Map<string, ShardlineError>();

  afterEach(async () => {
    await server?.close();
    server = null;
    calls.length = 0;
    failures.clear();
  });

  async function serve(): Promise<string> {
    const fail = (op: string): void => {
      calls.push(op);
      const error = failures.get(op);
      if (error) throw error;
    };
    const operations = {
      shardCount: () => 4,
      takeover: async () => (fail('takeover'), { tookMs: 120, alreadyPrimary: false, primary: 'node-b' }),
      move: async (shardId: number, to: string) => (fail(`move ${shardId} ${to}`), { shardId, from: 'node-a', to, epoch: 4, seq: 77, tookMs: 40, gapMs: 12 }),
      drain: async (node: string, draining: boolean, o: { waitMs: number }) => (fail(`drain ${node} ${draining} ${o.waitMs}`), { node, draining, shards: [], done: true, tookMs: 5 }),
    } as unknown as ControlOperations & PrimaryOperations;
    const app = createControlApp({
      adminToken: TOKEN,
      clusterSecret: 'cluster-secret-for-cli-0123456789',
      logger: captureLogger().logger,
      readiness: () => ({ ready: true, reasons: [] }),
      status: () => STATUS,
      query: (sql: string, params: readonly unknown[], limits: { maxRows: number; timeoutMs: number }) => {
        calls.push(`query ${sql} ${JSON.stringify(params)} ${limits.maxRows}`);
        if (/delete/i.test(sql)) throw new ShardlineError('INVALID_INPUT', 'Cannot run query: only one read-only statement is allowed');
        return { columns: ['id', 'name'], rows: [[5, 'alpha']], truncated: false };
      },
      operations,
    });
    server = await createNodeRuntime().serve(app.fetch, { hostname: '127.0.0.1', port: 0 });
    return server.url;
  }

  it('takes over, moves, drains and undrains through the admin API', async () => {
    const url = await serve();
    const env = { SHARDLINE_URL: url, SHARDLINE_ADMIN_TOKEN: TOKEN };
    const takeover = fakeRuntime(['takeover'], env);
    expect(await runCli(takeover.runtime)).toBe(0);
    expect(takeover.out()).toBe('node-b is the primary now (took 120 ms)\n');

    const move = fakeRuntime(['move', '3', 'node-c'], env);
    expect(await runCli(move.runtime)).toBe(0);
    expect(move.out()).toContain('shard 3 moved node-a -> node-c by RESUME after seq 77 (epoch 4, took 40 ms, gap 12 ms)');

    const drain = fakeRuntime(['drain', 'node-a', '--wait', '1000', '--url', url], { SHARDLINE_ADMIN_TOKEN: TOKEN });
    expect(await runCli(drain.runtime)).toBe(0);
    expect(drain.out()).toContain('node-a is drained');

    const undrain = fakeRuntime(['drain', 'node-a', '--undrain'], env);
    expect(await runCli(undrain.runtime)).toBe(0);
    expect(undrain.out()).toBe('node-a takes shards again\n');
    expect(calls).toEqual(['takeover', 'move 3 node-c', 'drain node-a true 1000', 'drain node-a false 0']);
  });

  it('prints status as a table and as JSON', async () => {
    const url = await serve();
    const table = fakeRuntime(['status', '--url', url], { SHARDLINE_ADMIN_TOKEN: TOKEN });
    expect(await runCli(table.runtime)).toBe(0);
    expect(table.out()).toMatch(/node-a \| primary \| 2\s+\| 0,1/);
    expect(table.out()).toMatch(/node-b \| replica \| 1\s+\| 2 .*\| yes/);
    expect(table.out()).toContain('not running: 3 (detached)');
    expect(table.out()).toContain('identify budget: 990/1000 left (reserve 50)');

    const json = fakeRuntime(['status', '--json', '--url', url], { SHARDLINE_ADMIN_TOKEN: TOKEN });
    expect(await runCli(json.runtime)).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject({ node: { id: 'node-a' }, shardCount: 4 });
  });

  it('runs `query --url` on a running node through POST /query, as a table or JSON', async () => {
    const url = await serve();
    const env = { SHARDLINE_ADMIN_TOKEN: TOKEN };
    const table = fakeRuntime(['query', '--url', url, 'select id, name from guilds where id = ? and name = ?', '5', 'alpha'], env);
    expect(await runCli(table.runtime)).toBe(0);
    expect(table.out()).toMatch(/id\s*\|\s*name/);
    expect(table.out()).toMatch(/5\s*\|\s*alpha/);
    expect(table.out()).toContain('(1 row)');
    const json = fakeRuntime(['query', '--url', `${url}/`, '--json', '--max-rows', '7', 'select 1'], env);
    expect(await runCli(json.runtime)).toBe(0);
    expect(JSON.parse(json.out())).toEqual({ columns: ['id', 'name'], rows: [[5, 'alpha']], truncated: false });
    expect(calls).toEqual(['query select id, name from guilds where id = ? and name = ? [5,"alpha"] 100', 'query select 1 [] 7']);

    const refused = fakeRuntime(['query', '--url', url, 'delete from guilds'], env);
    expect(await runCli(refused.runtime)).toBe(1);
    expect(refused.err()).toBe('shardline: Cannot run query: only one read-only statement is allowed [INVALID_INPUT]\n');
    const noToken = fakeRuntime(['query', '--url', url, 'select 1']);
    expect(await runCli(noToken.runtime)).toBe(2);
    expect(noToken.err()).toContain('SHARDLINE_ADMIN_TOKEN is not set');
    const both = fakeRuntime(['query', '--url', url, '--data-dir', '/tmp', 'select 1'], env);
    expect(await runCli(both.runtime)).toBe(2);
    expect(both.err()).toContain('give one or the other');
    expect(calls).toHaveLength(3);
  });

  it('says clearly when the token is wrong or missing, the node refuses, or nobody answers', async () => {
    const url = await serve();
    const wrong = fakeRuntime(['takeover', '--url', url], { SHARDLINE_ADMIN_TOKEN: 'wrong-token-0123456789' });
    expect(await runCli(wrong.runtime)).toBe(1);
    expect(wrong.err()).toMatch(/refused the admin token \(401\).*Check \$SHARDLINE_ADMIN_TOKEN/);
    expect(wrong.err()).not.toContain('wrong-token-0123456789');

    const pasted = fakeRuntime(['status', '--url', url], { SHARDLINE_ADMIN_TOKEN: `${TOKEN}\n` });
    expect(await runCli(pasted.runtime)).toBe(1);
    expect(pasted.err()).toContain('SHARDLINE_ADMIN_TOKEN holds a character an HTTP header cannot carry');
    expect(pasted.err()).not.toContain(TOKEN);

    const missing = fakeRuntime(['status', '--url', url]);
    expect(await runCli(missing.runtime)).toBe(2);
    expect(missing.err()).toContain('SHARDLINE_ADMIN_TOKEN is not set');

    failures.set('move 1 node-b', new ShardlineError('NOT_PRIMARY', 'Cannot move shard 1: this node is not the primary; the primary is node-c'));
    const refused = fakeRuntime(['move', '1', 'node-b', '--url', url], { SHARDLINE_ADMIN_TOKEN: TOKEN });
    expect(await runCli(refused.runtime)).toBe(1);
    expect(refused.err()).toBe('shardline: Cannot move shard 1: this node is not the primary; the primary is node-c [NOT_PRIMARY]\n');

    await server!.close();
    server = null;
    const down = fakeRuntime(['status', '--url', url], { SHARDLINE_ADMIN_TOKEN: TOKEN });
    expect(await runCli(down.runtime)).toBe(1);
    expect(down.err()).toMatch(/cannot reach the node at http:\/\/127\.0\.0\.1:\d+ \([A-Z_]+\); is it running\?/);
  });

  it.each([
    [['move', '3'], /move needs a shard id and a node id/],
    [['move', 'x', 'node-a'], /shard id must be a non-negative integer/],
    [['drain'], /drain needs one node id/],
    [['takeover', '--timeout', 'soon'], /--timeout must be a positive number/],
    [['status', '--url', 'ftp://x'], /--url must be an http/],
    [['status', '--bogus'], /Unknown option/],
  ])('refuses bad usage %j with exit code 2', async (argv, message) => {
    const cli = fakeRuntime(argv, { SHARDLINE_ADMIN_TOKEN: TOKEN });
    expect(await runCli(cli.runtime)).toBe(2);
    expect(cli.err()).toMatch(message);
  });

  it('lists the commands in the usage', async () => {
    const cli = fakeRuntime(['help', 'drain']);
    expect(await runCli(cli.runtime)).toBe(0);
    expect(cli.out()).toContain('shardline drain <node> --undrain');
  });
});

describe('formatStatus', () => {
  it('compacts shard ranges and says where the identify budget lives on a replica', () => {
    const text = formatStatus(
      {
        node: { id: 'node-b', role: 'replica', primary: 'node-a', mode: 'cluster', version: '0.1.0' },
        nodes: [{ id: 'node-a', lastHeartbeatAt: 0, draining: false, version: '0.1.0' }],
        assignments: [0, 1, 2, 3, 5].map((shardId) => ({ shardId, nodeId: 'node-a', state: 'assigned' })),
        identify: null,
      },
      1_500,
    );
    expect(text).toContain('0-3,5');
    expect(text).toContain('1.5 s ago');
    expect(text).toContain('identify budget: kept by the primary');
  });

  it("shows this node's REST share and how close the cluster is to the invalid-request ban", () => {
    const text = formatStatus(
      {
        node: { id: 'node-b', role: 'replica', primary: 'node-a' },
        rest: { node: { limit: 50, share: 17, source: 'lease', sent: 1200, rateLimited: { global: 0, user: 3 }, invalid: { cluster: 7_400, limit: 10_000, level: 'throttle', throttleAt: 7_000, stopAt: 9_000 } } },
      },
      0,
    );
    expect(text).toContain("REST: this node's share 17 of 50/s (lease), 1200 sent, 429s: global 0, user 3");
    expect(text).toContain('invalid REST answers in the cluster: 7400 of 10000 per 10 min that get the IP banned (throttle; throttles at 7000, stops at 9000)');
  });
});

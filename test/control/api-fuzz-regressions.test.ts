/**
 * What schemathesis found on the node's API (npm run fuzz:api), one test each, named after
 * what broke.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusBody } from '../../src/control/status-schema.ts';
import { FULL_ADMIN, FULL_SECRET, fullControlApp } from '../helpers/full-control-app.ts';
import { ADMIN_TOKEN, SimCluster } from '../helpers/sim-cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

const admin = { authorization: `Bearer ${FULL_ADMIN}` };
const internal = { authorization: `Bearer ${FULL_SECRET}`, 'content-type': 'application/json' };

describe('API fuzz regressions', () => {
  it('regression: a known path asked with another method answered 404 NOT_FOUND; it answers 405 naming its methods in Allow', async () => {
    const { app, calls } = fullControlApp();
    for (const [method, path, headers, allow] of [
      ['GET', '/takeover', admin, 'POST'],
      ['DELETE', '/status', admin, 'GET, HEAD'],
      ['PUT', '/reshard', admin, 'GET, HEAD, POST'],
      ['GET', '/internal/heartbeat', internal, 'POST'],
      ['PATCH', '/shards/1/move', admin, 'POST'],
    ] as const) {
      const res = await app.request(path, { method, headers });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
    }
    const unknown = await app.request('/no-such-route', { headers: admin });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('allow')).toBeNull();
    // The guard still comes first: a wrong method without credentials says nothing about the route.
    expect((await app.request('/internal/heartbeat', { method: 'GET' })).status).toBe(401);
    expect(calls).toEqual([]);
  });

  it('regression: POST /takeover with a body of whitespace took it as no body and ran the takeover; a body that is not JSON is refused, no body is still {}', async () => {
    const { app, calls } = fullControlApp();
    const json = { ...admin, 'content-type': 'application/json' };
    for (const [path, body] of [['/takeover', '\n'], ['/takeover', ' '], ['/shards/1/handoff', '\t'], ['/nodes/node-a/drain', '\r\n'], ['/internal/shards/1/stats', '\n'], ['/nodes/node-a/undrain', ' ']] as const) {
      const res = await app.request(path, { method: 'POST', headers: path.startsWith('/internal/') ? internal : json, body });
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_INPUT');
    }
    expect(calls).toEqual([]);
    expect((await app.request('/takeover', { method: 'POST', headers: admin })).status).toBe(200);
    expect(calls).toEqual(['takeover']);
  });

  it('regression: claim and start took any JSON as resume info (the document said so too); every body carrying it is checked by one schema, field by field, before anything runs', async () => {
    const { app, calls } = fullControlApp();
    const good = { shardId: 1, shardCount: 4, sessionId: 'sess-1', seq: 9, resumeGatewayUrl: 'wss://gateway.example' };
    for (const [field, value] of [['shardId', 1.5], ['shardCount', 0], ['sessionId', 'a b'], ['seq', -1], ['resumeGatewayUrl', 'http://x'], ['extra', 1]] as const) {
      const resume = { ...good, [field]: value };
      for (const [path, headers, body] of [
        ['/internal/shards/1/claim', internal, { nodeId: 'node-b', resume }],
        ['/internal/shards/1/start', internal, { epoch: 2, resume }],
        ['/shards/1/resume', { ...admin, 'content-type': 'application/json' }, resume],
      ] as const) {
        const res = await app.request(path, { method: 'POST', headers, body: JSON.stringify(body) });
        const error = ((await res.json()) as { error: { code: string; message: string } }).error;
        expect(res.status, `${path} ${field}=${JSON.stringify(value)}`).toBe(400);
        expect(error.code).toBe('INVALID_INPUT');
        expect(error.message).toContain(field === 'extra' ? 'extra' : field);
      }
    }
    expect(calls).toEqual([]);
    const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, { post: { requestBody: { content: { 'application/json': { schema: { properties: Record<string, { type?: string; required?: string[] }> } } } } } }> };
    const claimResume = doc.paths['/internal/shards/{id}/claim']!.post.requestBody.content['application/json'].schema.properties['resume']!;
    expect(claimResume).toMatchObject({ type: 'object', required: ['shardId', 'shardCount', 'sessionId', 'seq', 'resumeGatewayUrl'] });
  });

  it("regression: POST /internal/shards/:id/stats answered the runner's whole stats; it answers the three fields its document names", async () => {
    const { app } = fullControlApp();
    const res = await app.request('/internal/shards/2/stats', { method: 'POST', headers: internal, body: '{}' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', readySince: 1, seq: 9 });
  });
});

describe('API fuzz regressions on a live cluster', () => {
  const cluster = new SimCluster({ shardCount: 2 });

  beforeAll(async () => {
    await cluster.start(['node-a', 'node-b']);
    await waitFor(() => cluster.running().size === 2 && [...cluster.nodes.values()].every((n) => n.host.readiness().ready), { timeoutMs: 60_000, message: () => cluster.dump() });
  });
  afterAll(() => cluster.close());

  it("regression: GET /status answered fields its document did not have (eventLoop.maxBusyStallMs, the forwarder's entries and staleRejected): a primary's and a replica's status validate against it", async () => {
    for (const node of cluster.nodes.values()) {
      const res = await fetch(`${node.host.url}/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const body = (await res.json()) as { node: { role: string }; forwarder: unknown };
      const parsed = statusBody.safeParse(body);
      expect(parsed.success ? [] : parsed.error.issues, `${node.id} (${body.node.role})`).toEqual([]);
      if (body.node.role === 'replica') expect(body.forwarder).toMatchObject({ entries: expect.any(Number), staleRejected: expect.any(Number) });
    }
  });
});

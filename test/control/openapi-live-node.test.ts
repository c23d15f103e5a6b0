/**
 * GET /openapi.json of a running node (a real Host on the simulated cluster, not the test app):
 * a valid OpenAPI 3.1 document, and the node's route table all in it. The document is read off
 * the app's own route table, so what this guards is that a real node serves every route the
 * full test app has (no optional route left unwired) and each documented operation reaches a
 * handler on it.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath, servedRoutes, type OpenApiDocument } from '../../src/openapi/openapi-document.ts';
import { fullControlApp } from '../helpers/full-control-app.ts';
import { SimCluster } from '../helpers/sim-cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('GET /openapi.json on a running node', () => {
  const cluster = new SimCluster({ shardCount: 1 });
  let url = '';
  let doc: OpenApiDocument;

  beforeAll(async () => {
    await cluster.start(['node-a']);
    await waitFor(() => cluster.running().size === 1 && cluster.node('node-a').host.readiness().ready, { timeoutMs: 60_000, message: () => cluster.dump() });
    url = cluster.node('node-a').host.url!;
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDocument;
  });
  afterAll(() => cluster.close());

  it('validates as OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it("lists every route of the node's route table (the full app's, optional routes included) and nothing else", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    const table = servedRoutes(fullControlApp().app).map((r) => `${r.method} ${openApiPath(r.path)}`).sort();
    expect(documented).toEqual(table);
  });

  it('reaches a handler for every documented operation (never the app-wide 404 or a 405)', async () => {
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const method of Object.keys(methods)) {
        // Without credentials: guarded routes refuse (401), public ones answer; neither changes anything.
        const res = await fetch(`${url}${path.replace('{id}', path.includes('/nodes/') ? 'node-a' : '0')}`, { method: method.toUpperCase(), redirect: 'manual' });
        const text = await res.text();
        expect(res.status, `${method} ${path}`).not.toBe(405);
        expect(text, `${method} ${path}`).not.toMatch(/No route for/);
      }
    }
  });
});

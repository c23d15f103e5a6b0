/**
 * GET /openapi.json: a valid OpenAPI 3.1 document (the spec's schema, and every schema in it
 * valid JSON Schema 2020-12), listing exactly the routes the app serves, each guarded route
 * refusing requests without or with the wrong credentials, and a reference page for people.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { createControlApp } from '../../src/control/create-control-app.ts';
import { DANGEROUS, UNDESCRIBED, openApiPath, pathParams, servedRoutes, type OpenApiDocument } from '../../src/openapi/openapi-document.ts';
import { captureLogger } from '../helpers/log-sink.ts';
import { FULL_ADMIN, FULL_SECRET, fullControlApp } from '../helpers/full-control-app.ts';

type Operation = { operationId: string; security?: Record<string, string[]>[]; parameters?: { name: string; in: string }[]; responses: Record<string, unknown>; requestBody?: unknown; [DANGEROUS]?: boolean; [UNDESCRIBED]?: boolean };

async function documentOf(app = fullControlApp().app): Promise<OpenApiDocument> {
  const res = await app.request('/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return (await res.json()) as OpenApiDocument;
}

function operationsOf(doc: OpenApiDocument): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method, path, op: op as Operation })));
}

/** A concrete URL for a documented path: shard 1, node node-a. */
const concrete = (path: string): string => path.replace('{id}', path.includes('/nodes/') ? 'node-a' : '1');

/** Every JSON Schema inside the document (parameters, bodies, answers, headers). */
function schemasOf(doc: OpenApiDocument): { where: string; schema: unknown }[] {
  const found: { where: string; schema: unknown }[] = [];
  const walk = (value: unknown, where: string): void => {
    if (typeof value !== 'object' || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      if (key === 'schema') found.push({ where, schema: child });
      else walk(child, `${where}/${key}`);
    }
  };
  walk(doc.paths, '');
  return found;
}

describe('GET /openapi.json', () => {
  it('validates as OpenAPI 3.1', async () => {
    const doc = await documentOf();
    expect(doc.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('holds only valid JSON Schema 2020-12 (strict: no unknown keywords)', async () => {
    const doc = await documentOf();
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, validateFormats: false });
    const schemas = schemasOf(doc);
    expect(schemas.length).toBeGreaterThan(50);
    const invalid = schemas.flatMap(({ where, schema }) => {
      try {
        ajv.compile(schema as object);
        return [];
      } catch (error) {
        return [`${where}: ${(error as Error).message}`];
      }
    });
    expect(invalid).toEqual([]);
  });

  it('lists every route the app serves, each described, and nothing else', async () => {
    const { app } = fullControlApp();
    const doc = await documentOf(app);
    const served = servedRoutes(app).map((r) => `${r.method} ${openApiPath(r.path)}`).sort();
    const documented = operationsOf(doc).map((o) => `${o.method.toUpperCase()} ${o.path}`).sort();
    expect(documented).toEqual(served);
    expect(operationsOf(doc).filter((o) => o.op[UNDESCRIBED]).map((o) => `${o.method} ${o.path}`)).toEqual([]);
    // The fake serves every optional route; a real node serves them all too.
    expect(served.length).toBeGreaterThanOrEqual(36);
    for (const must of ['GET /healthz', 'GET /readyz', 'GET /status', 'GET /metrics', 'POST /query', 'POST /takeover', 'POST /reshard', 'GET /reshard', 'POST /internal/heartbeat', 'POST /internal/writes', 'POST /internal/rest/lease', 'POST /internal/reshard/take-over', 'GET /openapi.json', 'GET /reference', 'POST /login']) {
      expect(documented).toContain(must);
    }
  });

  it('answers every documented operation with a route (never the app-wide 404)', async () => {
    const { app } = fullControlApp();
    const doc = await documentOf(app);
    for (const { method, path } of operationsOf(doc)) {
      const res = await app.request(concrete(path), { method: method.toUpperCase() });
      const text = await res.text();
      expect(text, `${method} ${path}`).not.toMatch(/No route for/);
    }
  });

  it('names each path parameter the route has, with the schema the route validates', async () => {
    const { app } = fullControlApp();
    const doc = await documentOf(app);
    for (const route of servedRoutes(app)) {
      const op = doc.paths[openApiPath(route.path)]![route.method.toLowerCase()] as Operation;
      const inPath = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      expect(inPath, route.path).toEqual(pathParams(route.path));
      if (inPath.length > 0) expect(route.doc?.params && Object.keys(route.doc.params), route.path).toEqual(inPath);
    }
  });

  it('leaves documents of a node without the optional routes without them', async () => {
    const app = createControlApp({ adminToken: FULL_ADMIN, clusterSecret: null, logger: captureLogger('warn').logger, readiness: () => ({ ready: true, reasons: [] }), status: () => ({}), query: () => ({ columns: [], rows: [], truncated: false }) });
    const doc = await documentOf(app);
    const paths = Object.keys(doc.paths);
    expect(paths).toContain('/status');
    expect(paths.filter((p) => p.startsWith('/internal') || p === '/takeover' || p === '/reshard')).toEqual([]);
  });
});

describe('auth, as the document states it', () => {
  it('every operation with security refuses no credentials, a wrong token and the other realm with 401, and runs nothing', async () => {
    const { app, calls } = fullControlApp();
    const doc = await documentOf(app);
    const all = operationsOf(doc);
    const guarded = all.filter((o) => o.op.security && !o.op.security.some((alt) => Object.keys(alt).length === 0));
    // Everything else is public on purpose: health, readiness, this document, and the dashboard's login.
    const open = all.filter((o) => !guarded.includes(o)).map((o) => `${o.method.toUpperCase()} ${o.path}`).sort();
    expect(open).toEqual(['GET /', 'GET /healthz', 'GET /openapi.json', 'GET /readyz', 'GET /reference', 'POST /login', 'POST /logout']);
    for (const { method, path, op } of guarded) {
      const internal = op.security!.some((alt) => 'clusterSecret' in alt);
      const otherRealm = internal ? FULL_ADMIN : FULL_SECRET;
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${otherRealm}`, `Basic ${btoa(`x:${internal ? FULL_SECRET : FULL_ADMIN}`)}`]) {
        const res = await app.request(concrete(path), {
          method: method.toUpperCase(),
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          ...(method === 'get' ? {} : { body: '{}' }),
        });
        expect(res.status, `${method} ${path} with ${authorization ?? 'nothing'}`).toBe(401);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      }
    }
    expect(calls).toEqual([]);
  });

  it('states the admin guard (bearer or dashboard cookie) and the cluster secret as security schemes', async () => {
    const doc = await documentOf();
    const schemes = (doc['components'] as { securitySchemes: Record<string, { type: string; scheme?: string; in?: string; name?: string }> }).securitySchemes;
    expect(schemes['adminBearer']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes['clusterSecret']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes['adminCookie']).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'shardline_admin' });
    const ops = operationsOf(doc);
    expect(ops.filter((o) => o.path.startsWith('/internal/')).every((o) => JSON.stringify(o.op.security) === '[{"clusterSecret":[]}]')).toBe(true);
    expect(ops.find((o) => o.path === '/status')!.op.security).toEqual([{ adminBearer: [] }, { adminCookie: [] }]);
    expect(ops.find((o) => o.path === '/healthz')!.op.security).toBeUndefined();
    expect(ops.find((o) => o.path === '/takeover')!.op[DANGEROUS]).toBe(true);
  });

  it('answers a refused token with the 401 the document lists, in the error shape it states', async () => {
    const doc = await documentOf();
    const status = operationsOf(doc).find((o) => o.path === '/status')!.op;
    expect(status.responses['401']).toMatchObject({ content: { 'application/json': { schema: { properties: { error: { properties: { code: { enum: ['UNAUTHORIZED'] } } } } } } } });
  });
});

describe('GET /reference', () => {
  it('renders every operation of the document for people, with no external assets', async () => {
    const { app } = fullControlApp();
    const doc = await documentOf(app);
    const res = await app.request('/reference');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const page = await res.text();
    for (const { method, path } of operationsOf(doc)) expect(page).toContain(`${method.toUpperCase()} ${path}`);
    expect(page).toContain('href="/openapi.json"');
    expect(page).not.toMatch(/<script|src="http|href="http/);
  });
});

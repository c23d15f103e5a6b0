import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ShardlineError } from '../core/errors.ts';
import { captureLogger } from '../../test/helpers/log-sink.ts';
import { MAX_BODY_BYTES, createControlApp, type ControlDeps } from './create-control-app.ts';
import { ERROR_STATUS } from './error-status.ts';

const ADMIN = 'admin-token-0123456789';

function setup(overrides: Partial<ControlDeps> = {}) {
  const calls: unknown[] = [];
  const { logger, text } = captureLogger();
  const deps: ControlDeps = {
    adminToken: ADMIN,
    clusterSecret: 'cluster-secret-0123456789',
    logger,
    readiness: () => ({ ready: true, reasons: [] }),
    status: () => ({ node: 'n1' }),
    query: (sql, params, limits) => {
      calls.push({ sql, params, limits });
      if (/insert/i.test(sql)) throw new ShardlineError('INVALID_INPUT', 'Only read-only statements are allowed');
      return { columns: ['n'], rows: [[1]], truncated: false };
    },
    ...overrides,
  };
  return { app: createControlApp(deps), calls, logText: text };
}

const auth = { authorization: `Bearer ${ADMIN}` };

describe('control app', () => {
  it('maps every error code to an HTTP status', () => {
    for (const code of ERROR_CODES) expect(ERROR_STATUS[code]).toBeGreaterThanOrEqual(400);
  });

  it('answers health without a token and readiness with 503 and reasons', async () => {
    const { app } = setup({ readiness: () => ({ ready: false, reasons: ['shard 1 is resuming'] }) });
    expect((await app.request('/healthz')).status).toBe(200);
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ ready: false, reasons: ['shard 1 is resuming'] });
  });

  it.each([
    ['no token', {}, /Missing bearer token/],
    ['a wrong token', { authorization: 'Bearer nope' }, /Wrong bearer token/],
    ['the cluster secret', { authorization: 'Bearer cluster-secret-0123456789' }, /Wrong bearer token/],
  ])('refuses admin routes with %s', async (_name, headers, message) => {
    const { app } = setup();
    const res = await app.request('/status', { headers });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('UNAUTHORIZED');
    expect(body.error.message).toMatch(message);
  });

  it('keeps admin routes closed when no admin token is configured', async () => {
    const { app } = setup({ adminToken: null });
    const res = await app.request('/status', { headers: { authorization: 'Bearer anything' } });
    expect(res.status).toBe(401);
    expect(JSON.stringify(await res.json())).toMatch(/admin API is disabled: SHARDLINE_ADMIN_TOKEN is not set/);
  });

  it('runs a query with defaults and returns columns and rows', async () => {
    const { app, calls } = setup();
    const res = await app.request('/query', { method: 'POST', headers: auth, body: JSON.stringify({ sql: 'select 1 as n' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ columns: ['n'], rows: [[1]], truncated: false });
    expect(calls).toEqual([{ sql: 'select 1 as n', params: [], limits: { maxRows: 1000, timeoutMs: 2000, maxBytes: 4 * 1024 * 1024 } }]);
  });

  it.each([
    ['bad JSON', '{nope', /not valid JSON/],
    ['a missing sql', JSON.stringify({}), /sql/],
    ['an unknown field', JSON.stringify({ sql: 'select 1', drop: true }), /drop|Unrecognized/i],
    ['too many rows', JSON.stringify({ sql: 'select 1', maxRows: 1e9 }), /maxRows/],
    ['a write statement', JSON.stringify({ sql: 'insert into t values (1)' }), /read-only/],
  ])('answers 400 for %s and never runs it', async (_name, body, message) => {
    const { app, calls } = setup();
    const res = await app.request('/query', { method: 'POST', headers: auth, body });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('INVALID_INPUT');
    expect(json.error.message).toMatch(message);
    expect(calls.filter((c) => !/insert/i.test(JSON.stringify(c)))).toEqual([]);
  });

  it('refuses a body over the size limit with 413', async () => {
    const { app, calls } = setup();
    const big = JSON.stringify({ sql: `select '${'x'.repeat(MAX_BODY_BYTES)}'` });
    const res = await app.request('/query', { method: 'POST', headers: { ...auth, 'content-length': String(big.length) }, body: big });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TOO_LARGE');
    expect(calls).toEqual([]);
  });

  it('hides unexpected errors behind a generic 500 and logs them', async () => {
    const { app, logText } = setup({ status: () => { throw new Error('kaboom'); } });
    const res = await app.request('/status', { headers: auth });
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).not.toContain('kaboom');
    expect(logText()).toContain('kaboom');
    expect(logText()).not.toContain(ADMIN);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const { app } = setup();
    const res = await app.request('/nope');
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });
});

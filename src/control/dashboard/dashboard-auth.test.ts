import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../../test/helpers/log-sink.ts';
import type { HostStatus } from '../../host/host-status.ts';
import { createControlApp, type ControlDeps } from '../create-control-app.ts';
import { ADMIN_SESSION_COOKIE, DASHBOARD_HEADER, checkSessionValue, createSessionValue } from './admin-session.ts';

const ADMIN = 'admin-token-0123456789';
const SECRET = 'cluster-secret-0123456789';

function hostStatus(now: number): HostStatus {
  return {
    node: { id: 'node-a', role: 'primary', primary: 'node-a', mode: 'cluster', version: '0.1.0', startedAt: now - 60_000, state: 'running', url: 'http://127.0.0.1:1' },
    shardCount: 2,
    shards: [],
    nodes: [
      { id: 'node-a', url: 'http://127.0.0.1:1', version: '0.1.0', startedAt: now - 60_000, lastHeartbeatAt: now - 500, draining: false },
      { id: 'node-b', url: 'http://127.0.0.1:2', version: '0.1.0', startedAt: now - 60_000, lastHeartbeatAt: now - 500, draining: false },
    ],
    assignments: [
      { shardId: 0, nodeId: 'node-a', epoch: 1, state: 'assigned', updatedAt: now - 1_000 },
      { shardId: 1, nodeId: 'node-b', epoch: 3, state: 'assigned', updatedAt: now - 1_000 },
    ],
    identify: null,
    funnel: null,
    forwarder: null,
    queries: null,
    botQueries: null,
    eventLoop: { stalls: 0, stalledMs: 0, maxStallMs: 0, lastStallMs: null, lastStallAt: null, busyStalls: 0, maxBusyStallMs: 0 },
    events: [{ id: 1, at: now - 2_000, kind: 'move', nodeId: 'node-b', shardId: 1, detail: { from: 'node-a', to: 'node-b', epoch: 3, seq: 41, reason: 'manual' } }],
  };
}

function setup(overrides: Partial<ControlDeps> = {}) {
  const heartbeats: unknown[] = [];
  const { logger, text } = captureLogger();
  const deps: ControlDeps = {
    adminToken: ADMIN,
    clusterSecret: SECRET,
    logger,
    readiness: () => ({ ready: true, reasons: [] }),
    status: () => hostStatus(Date.now()),
    query: () => ({ columns: ['shard_id', 'seq', 'updated_at'], rows: [[1, 41, Date.now()]], truncated: false }),
    internal: {
      heartbeat: (request) => {
        heartbeats.push(request);
        return { primary: 'node-a', shardCount: 2 };
      },
      acceptWrites: () => Promise.resolve({ accepted: 0, stale: [] } as never),
      identify: () => ({ granted: true } as never),
      detach: () => Promise.reject(new Error('not used')),
      start: () => {},
    },
    ...overrides,
  };
  return { app: createControlApp(deps), heartbeats, logText: text };
}

async function login(app: ReturnType<typeof setup>['app'], token: string): Promise<Response> {
  return app.request('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }).toString() });
}

/** The `name=value` part of the session cookie a response sets. */
function sessionCookie(res: Response): string {
  const header = res.headers.get('set-cookie') ?? '';
  const match = new RegExp(`${ADMIN_SESSION_COOKIE}=([^;]*)`).exec(header);
  if (!match) throw new Error(`no session cookie in ${JSON.stringify(header)}`);
  return `${ADMIN_SESSION_COOKIE}=${match[1]}`;
}

describe('dashboard login and session cookie', () => {
  it('shows the login form without a session, and no dashboard data', async () => {
    const { app } = setup();
    const res = await app.request('/');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<form class="login" method="post" action="\/login">/);
    expect(html).toContain('node-a');
    expect(html).not.toContain('data-shard=');
    expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  });

  it('refuses a wrong token with 401, the form again, and no cookie', async () => {
    const { app, logText } = setup();
    const res = await login(app, 'not-the-admin-token');
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toMatch(/That is not this node(&#39;|')s admin token/);
    expect(logText()).not.toContain('not-the-admin-token');
  });

  it('refuses the cluster secret as a login token', async () => {
    const { app } = setup();
    const res = await login(app, SECRET);
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('sets an HttpOnly, SameSite=Strict, Path=/ cookie that does not contain the token', async () => {
    const { app, logText } = setup();
    const res = await login(app, ADMIN);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const header = res.headers.get('set-cookie')!;
    expect(header).toMatch(/HttpOnly/i);
    expect(header).toMatch(/SameSite=Strict/i);
    expect(header).toMatch(/Path=\//);
    expect(header).not.toContain(ADMIN);
    expect(logText()).not.toContain(ADMIN);
  });

  it('accepts the cookie on the page, the live panels and admin routes', async () => {
    const { app } = setup();
    const cookie = sessionCookie(await login(app, ADMIN));
    const page = await app.request('/', { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toMatch(/data-node="node-b"[\s\S]*data-shard="1"/);
    expect(html).toContain('shard 1 moved node-a → node-b by resume at seq 41 (manual)');
    const live = await app.request('/dashboard/live', { headers: { cookie } });
    expect(live.status).toBe(200);
    expect(await live.text()).toContain('data-shard="0"');
    const status = await app.request('/status', { headers: { cookie } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as HostStatus).node.id).toBe('node-a');
  });

  it('lets a cookie change state only with the dashboard header', async () => {
    const { app } = setup();
    const cookie = sessionCookie(await login(app, ADMIN));
    const bare = await app.request('/query', { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'select 1' }) });
    expect(bare.status).toBe(401);
    expect(JSON.stringify(await bare.json())).toContain(DASHBOARD_HEADER);
    const fromPage = await app.request('/query', { method: 'POST', headers: { cookie, 'content-type': 'application/json', [DASHBOARD_HEADER]: '1' }, body: JSON.stringify({ sql: 'select 1' }) });
    expect(fromPage.status).toBe(200);
  });

  it('never accepts the admin cookie on /internal routes', async () => {
    const { app, heartbeats } = setup();
    const cookie = sessionCookie(await login(app, ADMIN));
    const res = await app.request('/internal/heartbeat', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', [DASHBOARD_HEADER]: '1' },
      body: JSON.stringify({ nodeId: 'node-b', url: 'http://127.0.0.1:2', version: '0.1.0', startedAt: 1, shards: [] }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Missing bearer token for the internal API/);
    expect(heartbeats).toEqual([]);
  });

  it('refuses a forged, a foreign and an expired cookie', async () => {
    const { app } = setup();
    const now = Date.now();
    const cases = [
      `${ADMIN_SESSION_COOKIE}=v1.${now + 60_000}.${'A'.repeat(43)}`,
      `${ADMIN_SESSION_COOKIE}=${await createSessionValue('another-token-0123456789', now + 60_000)}`,
      `${ADMIN_SESSION_COOKIE}=${await createSessionValue(ADMIN, now - 1)}`,
      `${ADMIN_SESSION_COOKIE}=garbage`,
    ];
    for (const cookie of cases) {
      const res = await app.request('/status', { headers: { cookie } });
      expect(res.status, cookie).toBe(401);
      expect(await (await app.request('/', { headers: { cookie } })).text()).toContain('action="/login"');
    }
    expect(await checkSessionValue(await createSessionValue(ADMIN, now - 1), ADMIN, now)).toEqual({ ok: false, reason: expect.stringMatching(/expired/) });
  });

  it('logs out by clearing the cookie', async () => {
    const { app } = setup();
    await login(app, ADMIN);
    const res = await app.request('/logout', { method: 'POST' });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(new RegExp(`${ADMIN_SESSION_COOKIE}=;.*Max-Age=0`, 'i'));
  });

  it('says the admin API is disabled when no token is configured', async () => {
    const { app } = setup({ adminToken: null });
    const page = await app.request('/');
    expect(page.status).toBe(401);
    expect(await page.text()).toMatch(/SHARDLINE_ADMIN_TOKEN<\/code> is not set/);
    const res = await login(app, 'anything-at-all-here');
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('still answers bearer clients on the page', async () => {
    const { app } = setup();
    const res = await app.request('/', { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(await res.text()).toContain('data-node="node-a"');
  });
});

describe('dashboard routes stay on their own paths', () => {
  it('adds its headers to its pages only', async () => {
    const { app } = setup();
    expect((await app.request('/')).headers.get('cache-control')).toBe('no-store');
    expect((await app.request('/healthz')).headers.get('cache-control')).toBeNull();
    expect((await app.request('/nope')).status).toBe(404);
  });
});

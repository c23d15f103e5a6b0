import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { Logger } from '../../core/ports.ts';
import { describeRoute } from '../../openapi/route-doc.ts';
import { ROUTE_DOCS } from '../admin-route-docs.ts';
import { requireBearer } from '../secret-auth.ts';
import { loginForm } from './login-form.ts';
import { endAdminSession, startAdminSession } from './admin-session.ts';
import { chartsOf, type ChartsModel, type MetricsSample } from './chart-model.ts';
import { parseSessions, toDashboardModel, type DashboardModel } from './dashboard-model.ts';
import { DashboardPage, DisabledPage, LivePanels, LoginPage } from './dashboard-page.tsx';

/** What the dashboard reads from the node (a subset of the control app's deps). */
export interface DashboardDeps {
  readonly adminToken: string | null;
  readonly logger: Logger;
  status(): unknown;
  query(sql: string, params: readonly unknown[], limits: { maxRows: number; timeoutMs: number }): { readonly columns: readonly string[]; readonly rows: readonly unknown[][] };
  /** The node's recent samples for the charts (src/host/metrics-history.ts); absent: no charts. */
  history?(): readonly MetricsSample[];
}

/** The active set's sessions: during a reshard the new set's shards have sessions of their own. */
const SESSIONS_SQL = "SELECT shard_id, seq, updated_at FROM shard_sessions WHERE generation = coalesce((SELECT generation FROM shard_sets WHERE state = 'active' ORDER BY generation DESC LIMIT 1), 0)";

/**
 * The operator's page: GET / (login form, or the dashboard once logged in), POST /login and
 * /logout, and GET /dashboard/live, the panels the page polls every second. Actions on the
 * page call the admin routes (takeover, move, drain) with the session cookie.
 */
export function createDashboardRoutes(deps: DashboardDeps): Hono {
  const app = new Hono();
  const log = deps.logger.child({ component: 'dashboard' });
  const admin = requireBearer(deps.adminToken, 'admin');
  const nodeId = (): string | null => {
    try {
      const status = deps.status() as { node?: { id?: unknown } } | null;
      return typeof status?.node?.id === 'string' ? status.node.id : null;
    } catch {
      return null;
    }
  };
  const model = (): DashboardModel | null => {
    let sessions: ReturnType<typeof parseSessions> = [];
    try {
      sessions = parseSessions(deps.query(SESSIONS_SQL, [], { maxRows: 10_000, timeoutMs: 1_000 }));
    } catch (error) {
      log.debug({ err: (error as Error).message }, 'shard sessions unavailable for the dashboard');
    }
    return toDashboardModel(deps.status(), sessions, Date.now());
  };

  const charts = (): ChartsModel | null => (deps.history ? chartsOf(deps.history()) : null);

  // Only on the dashboard's own paths: mounted at '/', a '*' here would touch every route.
  const noStore: MiddlewareHandler = async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  };
  for (const path of ['/', '/login', '/logout', '/dashboard/live']) app.use(path, noStore);

  app.get('/', describeRoute(ROUTE_DOCS.dashboard), async (c) => {
    const nonce = newNonce();
    page(c, nonce);
    if (deps.adminToken === null) return c.html(<DisabledPage nodeId={nodeId()} nonce={nonce} />, 401);
    // The guard decides (header or cookie); any refusal shows the login form instead of JSON.
    let allowed = false;
    try {
      await admin(c, async () => {
        allowed = true;
      });
    } catch {
      allowed = false;
    }
    if (!allowed) return c.html(<LoginPage nodeId={nodeId()} nonce={nonce} />);
    return c.html(<DashboardPage model={model()} nonce={nonce} charts={charts()} />);
  });

  app.get('/dashboard/live', admin, describeRoute(ROUTE_DOCS.dashboardLive), (c) => c.html(<LivePanels model={model()} charts={charts()} />));

  app.post('/login', describeRoute(ROUTE_DOCS.login), async (c) => {
    const nonce = newNonce();
    page(c, nonce);
    if (deps.adminToken === null) return c.html(<DisabledPage nodeId={nodeId()} nonce={nonce} />, 401);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const parsed = loginForm.safeParse(form);
    const token = parsed.success ? parsed.data.token.trim() : '';
    if (token === '' || !(await timingSafeEqual(token, deps.adminToken))) {
      log.warn('dashboard login refused: wrong admin token');
      return c.html(<LoginPage nodeId={nodeId()} nonce={nonce} error="That is not this node's admin token." />, 401);
    }
    await startAdminSession(c, deps.adminToken);
    log.info('dashboard login');
    return c.redirect('/', 303);
  });

  app.post('/logout', describeRoute(ROUTE_DOCS.logout), (c) => {
    endAdminSession(c);
    return c.redirect('/', 303);
  });

  return app;
}

/** Inline style and script run only with this request's nonce; nothing may frame the page. */
function page(c: Context, nonce: string): void {
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
}

function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { ShardlineError, isShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import { createAdminRoutes } from './admin-routes.ts';
import { ROUTE_DOCS } from './admin-route-docs.ts';
import { nodeApiDocument } from './api-document.ts';
import { createApiDocRoutes } from './api-doc-routes.tsx';
import { createDashboardRoutes } from './dashboard/create-dashboard-routes.tsx';
import type { MetricsSample } from './dashboard/chart-model.ts';
import type { ControlOperations, PrimaryOperations } from './control-operations.ts';
import { ERROR_STATUS } from './error-status.ts';
import { createInternalRoutes, type InternalDeps } from './internal-routes.ts';
import { parseBody } from './parse-body.ts';
import { QUERY_LIMITS, queryBody } from './query-body.ts';
import { requireBearer } from './secret-auth.ts';
import { ShardRateTracker, withShardRates } from './shard-rates.ts';
import { allowedMethods } from '../openapi/allowed-methods.ts';
import { describeRoute } from '../openapi/route-doc.ts';
import type { OpenApiDocument } from '../openapi/openapi-document.ts';
import { queryResultJson } from '../store/result-json.ts';
import type { EncodedQueryResult } from '../store/query-threads.ts';

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly unknown[][];
  readonly truncated: boolean;
  /** The time limit stopped the scan: the route answers 504 instead of partial rows. */
  readonly timedOut?: boolean;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready, one line each; empty when ready. */
  readonly reasons: readonly string[];
}

/** What the control plane needs from the node. The host implements it; tests pass fakes. */
export interface ControlDeps {
  readonly adminToken: string | null;
  readonly clusterSecret: string | null;
  readonly logger: Logger;
  readiness(): Readiness;
  status(): unknown;
  /** Trusted SQL of the dashboard's own pages, on the event loop (bounded in bytes there too). */
  query(sql: string, params: readonly unknown[], limits: { maxRows: number; timeoutMs: number; maxBytes?: number }): QueryResult;
  /**
   * POST /query's SQL, off the event loop (the host's query threads), answered as the JSON
   * the route sends: the node passes the bytes on without parsing or serializing them.
   * Absent: query() serves it.
   */
  runQueryJson?(sql: string, params: readonly unknown[], limits: QueryLimits, signal?: AbortSignal): Promise<EncodedQueryResult>;
  /** The node-to-node routes; absent on a node that is not part of a cluster API. */
  readonly internal?: Omit<InternalDeps, 'clusterSecret' | 'operations'>;
  /** Takeover, handoff, resume, move, drain, metrics (admin) and their primary-side halves (internal). */
  readonly operations?: ControlOperations & PrimaryOperations;
  /** The node's recent samples, drawn as the dashboard's charts; absent: no charts. */
  history?(): readonly MetricsSample[];
  /** Clock for the events/s in GET /status (tests pass their own). */
  readonly now?: () => number;
}

export { QUERY_LIMITS };
export interface QueryLimits {
  readonly maxRows: number;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}
export const MAX_BODY_BYTES = 256 * 1024;

/** The node's HTTP API as a runtime-neutral Hono app (served by the runtime adapter). */
export function createControlApp(deps: ControlDeps): Hono {
  if (deps.adminToken !== null && deps.adminToken === deps.clusterSecret) {
    // Otherwise an admin token would open the internal API and the reverse.
    throw new ShardlineError('INVALID_CONFIG', 'SHARDLINE_ADMIN_TOKEN and SHARDLINE_CLUSTER_SECRET must differ');
  }
  const app = new Hono();
  const log = deps.logger.child({ component: 'control' });
  const now = deps.now ?? Date.now;
  const rates = new ShardRateTracker();

  app.onError((error, c) => errorResponse(error, c, log));
  app.notFound((c) => {
    // A known path asked with another method is a 405 naming the methods it has (RFC 9110).
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      c.header('Allow', allowed.join(', '));
      return c.json({ error: { code: 'METHOD_NOT_ALLOWED', message: `${c.req.path} answers ${allowed.join(', ')}, not ${c.req.method}` } }, 405);
    }
    return c.json({ error: { code: 'NOT_FOUND', message: `No route for ${c.req.method} ${c.req.path}` } }, 404);
  });
  if (deps.internal) {
    app.route('/internal', createInternalRoutes({ ...deps.internal, clusterSecret: deps.clusterSecret, ...(deps.operations ? { operations: deps.operations } : {}) }));
  }
  // Internal routes carry large forwarded batches and have their own limit.
  app.use('*', async (c, next) => (c.req.path.startsWith('/internal/') ? next() : publicLimit(c, next)));
  const publicLimit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ShardlineError('TOO_LARGE', `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    },
  });

  app.get('/healthz', describeRoute(ROUTE_DOCS.healthz), (c) => c.json({ ok: true }));
  app.get('/readyz', describeRoute(ROUTE_DOCS.readyz), (c) => {
    const readiness = deps.readiness();
    return c.json(readiness, readiness.ready ? 200 : 503);
  });

  // The guard sits on each admin route (not on a prefix) so unknown paths stay plain 404s.
  const admin = requireBearer(deps.adminToken, 'admin');
  app.get('/status', admin, describeRoute(ROUTE_DOCS.status), (c) => c.json(withShardRates(deps.status(), rates, now()) as object));
  app.post('/query', admin, describeRoute(ROUTE_DOCS.query), async (c) => {
    const body = await parseBody(c, queryBody);
    const limits = { maxRows: body.maxRows, timeoutMs: body.timeoutMs, maxBytes: body.maxBytes };
    const timedOut = (rows: number): ShardlineError =>
      new ShardlineError('TIMEOUT', `Query stopped at its time limit of ${body.timeoutMs} ms after ${rows} rows: narrow it, or raise timeoutMs (at most ${QUERY_LIMITS.maxTimeoutMs})`);
    // A result past maxBytes was refused (TOO_LARGE) where its rows were read, before it got here.
    if (deps.runQueryJson) {
      const result = await deps.runQueryJson(body.sql, body.params, limits, c.req.raw.signal);
      if (result.timedOut || !result.json) throw timedOut(result.rowCount);
      return c.body(result.json as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/json' });
    }
    const result = deps.query(body.sql, body.params, limits);
    if (result.timedOut) throw timedOut(result.rows.length);
    return c.body(queryResultJson(result), 200, { 'content-type': 'application/json' });
  });
  if (deps.operations) app.route('/', createAdminRoutes(deps.operations, admin));
  app.route('/', createDashboardRoutes(deps));
  let document: OpenApiDocument | undefined;
  app.route('/', createApiDocRoutes(() => (document ??= nodeApiDocument(app))));
  return app;
}

function errorResponse(error: unknown, c: Context, log: Logger): Response {
  if (isShardlineError(error)) {
    const status = ERROR_STATUS[error.code] ?? 500;
    if (status >= 500) log.warn({ err: error, path: c.req.path }, 'request failed');
    return c.json({ error: error.toJSON() }, status);
  }
  if (error instanceof HTTPException) {
    return c.json({ error: { code: error.status === 413 ? 'TOO_LARGE' : 'INVALID_INPUT', message: error.message } }, error.status);
  }
  log.error({ err: error, path: c.req.path }, 'unexpected error in request');
  return c.json({ error: { code: 'INTERNAL', message: 'Internal error; see the node log' } }, 500);
}

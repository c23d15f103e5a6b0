import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { ShardlineError, isShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import { ERROR_STATUS } from './error-status.ts';
import { createInternalRoutes, type InternalDeps } from './internal-routes.ts';
import { requireBearer } from './secret-auth.ts';

export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly unknown[][];
  readonly truncated: boolean;
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
  query(sql: string, params: readonly unknown[], limits: { maxRows: number; timeoutMs: number }): QueryResult;
  /** The node-to-node routes; absent on a node that is not part of a cluster API. */
  readonly internal?: Omit<InternalDeps, 'clusterSecret'>;
}

export const QUERY_LIMITS = { defaultRows: 1_000, maxRows: 10_000, defaultTimeoutMs: 2_000, maxTimeoutMs: 10_000 } as const;
export const MAX_BODY_BYTES = 256 * 1024;

const queryBody = z.strictObject({
  sql: z.string().min(1, 'sql must not be empty').max(100_000),
  params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(1_000).default([]),
  maxRows: z.number().int().min(1).max(QUERY_LIMITS.maxRows).default(QUERY_LIMITS.defaultRows),
  timeoutMs: z.number().int().min(1).max(QUERY_LIMITS.maxTimeoutMs).default(QUERY_LIMITS.defaultTimeoutMs),
});

/** The node's HTTP API as a runtime-neutral Hono app (served by the runtime adapter). */
export function createControlApp(deps: ControlDeps): Hono {
  const app = new Hono();
  const log = deps.logger.child({ component: 'control' });

  app.onError((error, c) => errorResponse(error, c, log));
  app.notFound((c) => c.json({ error: { code: 'NOT_FOUND', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));
  if (deps.internal) app.route('/internal', createInternalRoutes({ ...deps.internal, clusterSecret: deps.clusterSecret }));
  // Internal routes carry large forwarded batches and have their own limit.
  app.use('*', async (c, next) => (c.req.path.startsWith('/internal/') ? next() : publicLimit(c, next)));
  const publicLimit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ShardlineError('TOO_LARGE', `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    },
  });

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', (c) => {
    const readiness = deps.readiness();
    return c.json(readiness, readiness.ready ? 200 : 503);
  });

  // The guard sits on each admin route (not on a prefix) so unknown paths stay plain 404s.
  const admin = requireBearer(deps.adminToken, 'admin');
  app.get('/status', admin, (c) => c.json(deps.status() as object));
  app.post('/query', admin, async (c) => {
    const body = await parseBody(c, queryBody);
    return c.json(deps.query(body.sql, body.params, { maxRows: body.maxRows, timeoutMs: body.timeoutMs }));
  });
  return app;
}

/** Parses and validates a JSON body; every failure is a 400 naming the field. */
export async function parseBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch (error) {
    if (isShardlineError(error)) throw error;
    throw new ShardlineError('INVALID_INPUT', 'Request body is not valid JSON');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    throw new ShardlineError('INVALID_INPUT', `Invalid request body: ${problems.join('; ')}`, { details: { problems } });
  }
  return result.data;
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

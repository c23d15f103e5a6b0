import type { MiddlewareHandler } from 'hono';
import { timingSafeEqual } from 'hono/utils/buffer';
import { ShardlineError } from '../core/errors.ts';
import { withSecurity } from '../openapi/route-doc.ts';
import { ADMIN_SECURITY, INTERNAL_SECURITY } from './api-security.ts';
import { checkAdminSession } from './dashboard/admin-session.ts';

/**
 * Bearer-token guard. `expected` null means the route family is disabled, which is reported
 * as such (never silently open). The comparison is constant-time. The admin realm (only)
 * also accepts the dashboard's session cookie when no Authorization header is sent.
 */
export function requireBearer(expected: string | null, realm: 'admin' | 'internal'): MiddlewareHandler {
  const setting = realm === 'admin' ? 'SHARDLINE_ADMIN_TOKEN' : 'SHARDLINE_CLUSTER_SECRET';
  // Marked with what it checks: the OpenAPI document states each route's security from its guard.
  return withSecurity(async (c, next) => {
    if (expected === null) {
      throw new ShardlineError('UNAUTHORIZED', `The ${realm} API is disabled: ${setting} is not set on this node`);
    }
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    if (!match && realm === 'admin') {
      const session = await checkAdminSession(c, expected);
      if (session?.ok) return next();
      if (session) throw new ShardlineError('UNAUTHORIZED', session.reason);
    }
    if (!match) {
      c.header('WWW-Authenticate', `Bearer realm="${realm}"`);
      throw new ShardlineError('UNAUTHORIZED', `Missing bearer token for the ${realm} API`);
    }
    if (!(await timingSafeEqual(match[1]!, expected))) {
      c.header('WWW-Authenticate', `Bearer realm="${realm}", error="invalid_token"`);
      throw new ShardlineError('UNAUTHORIZED', `Wrong bearer token for the ${realm} API`);
    }
    await next();
  }, realm === 'admin' ? ADMIN_SECURITY : INTERNAL_SECURITY);
}

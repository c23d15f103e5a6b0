import type { SecurityAlternatives } from '../openapi/route-doc.ts';
import { ADMIN_SESSION_COOKIE, DASHBOARD_HEADER } from './dashboard/admin-session.ts';

/** The admin guard: the admin token as a bearer token, or the dashboard's session cookie. */
export const ADMIN_SECURITY: SecurityAlternatives = [{ adminBearer: [] }, { adminCookie: [] }];
/** The internal guard: the cluster secret only. */
export const INTERNAL_SECURITY: SecurityAlternatives = [{ clusterSecret: [] }];

export const SECURITY_SCHEMES = {
  adminBearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin token (SHARDLINE_ADMIN_TOKEN). Never accepted on the internal routes. Without it set, every admin route answers 401.',
  },
  adminCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: ADMIN_SESSION_COOKIE,
    description: `The dashboard's session, from POST /login (a signed expiry, never the token). A request that changes state with it must also send \`${DASHBOARD_HEADER}: 1\`.`,
  },
  clusterSecret: {
    type: 'http',
    scheme: 'bearer',
    description: 'The cluster secret (SHARDLINE_CLUSTER_SECRET): node-to-node calls only. Never accepted on the admin routes.',
  },
} as const;

/** A page that works without credentials and shows more with them (the dashboard's login form). */
export const OPTIONAL_ADMIN_SECURITY: SecurityAlternatives = [{}, ...ADMIN_SECURITY];

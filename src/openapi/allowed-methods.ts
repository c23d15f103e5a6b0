import type { Hono } from 'hono';
import { paramPatterns, servedRoutes } from './openapi-document.ts';

const compiled = new WeakMap<Hono, { readonly pattern: RegExp; readonly method: string; readonly fixed: number }[]>();

/** `/shards/:id/move` as a pattern of whole paths (a parameter is one segment, of its own pattern if it has one). */
function patternOf(path: string): RegExp {
  const params = paramPatterns(path);
  const source = path
    .split('/')
    .map((segment) => {
      const name = /^:([A-Za-z0-9_]+)/.exec(segment)?.[1];
      return name ? `(?:${params.get(name) ?? '[^/]+'})` : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * The methods `app` serves at `path` (HEAD with GET, as Hono answers it), for a 405 and its
 * Allow header when a request names a path the app has with another method. Read from the
 * route table once per app, after every route is registered (the first unmatched request).
 */
export function allowedMethods(app: Hono, path: string): string[] {
  let routes = compiled.get(app);
  if (!routes) {
    routes = servedRoutes(app).map((route) => ({ pattern: patternOf(route.path), method: route.method, fixed: route.path.split('/').filter((s) => s !== '' && !s.startsWith(':')).length }));
    compiled.set(app, routes);
  }
  // The path names the resource of its most specific route: /ledger/check is not /ledger/:shardId.
  const matching = routes.filter((route) => route.pattern.test(path));
  const fixed = Math.max(0, ...matching.map((route) => route.fixed));
  const methods = new Set(matching.filter((route) => route.fixed === fixed).map((route) => route.method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

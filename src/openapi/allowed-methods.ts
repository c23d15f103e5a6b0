import type { Hono } from 'hono';
import { servedRoutes } from './openapi-document.ts';

const compiled = new WeakMap<Hono, { readonly pattern: RegExp; readonly method: string }[]>();

/** `/shards/:id/move` as a pattern of whole paths (a parameter is one segment). */
function patternOf(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
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
    routes = servedRoutes(app).map((route) => ({ pattern: patternOf(route.path), method: route.method }));
    compiled.set(app, routes);
  }
  const methods = new Set(routes.filter((route) => route.pattern.test(path)).map((route) => route.method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

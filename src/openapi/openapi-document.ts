import type { Hono } from 'hono';
import { z } from 'zod';
import { docOf, securityOf, type RouteDoc, type SecurityAlternatives } from './route-doc.ts';

/** One method and path the app answers, with what its handler chain says about it. */
export interface ServedRoute {
  /** Upper case, as Hono keeps it. */
  readonly method: string;
  /** Hono's form: `/shards/:id/move`. */
  readonly path: string;
  readonly doc: RouteDoc | undefined;
  /** From the guard in front of the route (its own chain, or a `use()` registered before it). */
  readonly security: SecurityAlternatives | undefined;
}

/**
 * The routes an app serves, read from Hono's route table: every method and path that has a
 * handler (middleware registered with `use()` or `all()` is not a route of its own; an `all()`
 * catch-all answers 404s).
 */
export function servedRoutes(app: Hono): ServedRoute[] {
  const table = app.routes;
  const result = new Map<string, { method: string; path: string; doc: RouteDoc | undefined; security: SecurityAlternatives | undefined; first: number }>();
  table.forEach((route, index) => {
    if (route.method === 'ALL') return;
    const key = `${route.method} ${route.path}`;
    const entry = result.get(key) ?? { method: route.method, path: route.path, doc: undefined, security: undefined, first: index };
    entry.doc ??= docOf(route.handler);
    entry.security ??= securityOf(route.handler);
    result.set(key, entry);
  });
  return [...result.values()].map((entry) => {
    let security = entry.security;
    for (let i = 0; i < entry.first && !security; i++) {
      const middleware = table[i]!;
      if (middleware.method === 'ALL' && covers(middleware.path, entry.path)) security = securityOf(middleware.handler);
    }
    return { method: entry.method, path: entry.path, doc: entry.doc, security: security ?? entry.doc?.security };
  });
}

/** Whether a `use()` pattern (`/internal/*`, `*`, an exact path) applies to a route path. */
function covers(pattern: string, path: string): boolean {
  if (pattern === '*' || pattern === '/*') return true;
  if (pattern.endsWith('/*')) {
    const prefix = pattern.slice(0, -2);
    return path === prefix || path.startsWith(`${prefix}/`);
  }
  return pattern === path;
}

/** How an API answers errors: which status a code gets, and the body. */
export interface ErrorModel {
  statusOf(code: string): number;
  /** The JSON body of an error answer carrying one of `codes`. */
  body(codes: readonly string[]): z.ZodType;
  /** Codes every route of this shape may answer (a body that fails validation, a refused token). */
  implied(shape: { readonly body: boolean; readonly input: boolean; readonly secured: boolean }): readonly string[];
}

export interface OpenApiOptions {
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly tags?: readonly { readonly name: string; readonly description: string }[];
  readonly securitySchemes?: Readonly<Record<string, Record<string, unknown>>>;
  readonly errors: ErrorModel;
  /** Routes to leave out (the document's own route lists itself anyway). */
  readonly include?: (route: ServedRoute) => boolean;
}

export type JsonObject = Record<string, unknown>;

export interface OpenApiDocument extends JsonObject {
  readonly openapi: '3.1.1';
  readonly paths: Record<string, Record<string, JsonObject>>;
}

/** Marks an operation generated for a route nobody described (a test fails on any). */
export const UNDESCRIBED = 'x-undescribed';
/** Marks an operation that changes cluster state; the fuzzer runs it against a throwaway cluster. */
export const DANGEROUS = 'x-dangerous';

/** The OpenAPI 3.1 document of every route `app` serves, from the routes' own descriptions. */
export function openApiDocument(app: Hono, options: OpenApiOptions): OpenApiDocument {
  const paths: Record<string, Record<string, JsonObject>> = {};
  const routes = servedRoutes(app)
    .filter((route) => options.include?.(route) ?? true)
    .sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, options.errors);
  }
  return {
    openapi: '3.1.1',
    info: { ...options.info },
    ...(options.tags ? { tags: options.tags.map((t) => ({ ...t })) } : {}),
    paths,
    components: { securitySchemes: { ...options.securitySchemes } },
  };
}

/** A path parameter, with Hono's optional pattern: `:id` or `:id{[0-9]+}`. */
const PARAM = /:([A-Za-z0-9_]+)(?:\{((?:[^{}]|\{[^{}]*\})+)\})?/g;

/** `/shards/:id/move` (or `/shards/:id{[0-9]+}/move`) -> `/shards/{id}/move`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(PARAM, '{$1}');
}

export function pathParams(honoPath: string): string[] {
  return [...honoPath.matchAll(PARAM)].map((m) => m[1]!);
}

/** The pattern Hono matches a path parameter's segment against (`[^/]+` without one). */
export function paramPatterns(honoPath: string): Map<string, string> {
  return new Map([...honoPath.matchAll(PARAM)].map((m) => [m[1]!, m[2] ?? '[^/]+']));
}

function operationId(method: string, honoPath: string): string {
  const words = honoPath.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function operation(route: ServedRoute, errors: ErrorModel): JsonObject {
  const doc = route.doc;
  const names = pathParams(route.path);
  const parameters: JsonObject[] = names.map((name) => {
    const param = doc?.params?.[name];
    return { name, in: 'path', required: true, description: param?.description ?? name, schema: param ? jsonSchema(param.schema, 'input') : { type: 'string' } };
  });
  for (const [name, param] of Object.entries(doc?.query ?? {})) {
    parameters.push({ name, in: 'query', required: param.required ?? false, description: param.description, schema: jsonSchema(param.schema, 'input') });
  }
  const op: JsonObject = {
    operationId: operationId(route.method, route.path),
    summary: doc?.summary ?? `${route.method} ${route.path} (not described)`,
    ...(doc?.description ? { description: doc.description } : {}),
    tags: [...(doc?.tags ?? ['undescribed'])],
    ...(parameters.length > 0 ? { parameters } : {}),
  };
  if (doc?.body) {
    op['requestBody'] = {
      required: doc.body.required ?? true,
      ...(doc.body.description ? { description: doc.body.description } : {}),
      content: { [doc.body.mediaType ?? 'application/json']: { schema: jsonSchema(doc.body.schema, 'input') } },
    };
  }
  if (route.security) op['security'] = route.security.map((alternative) => ({ ...alternative }));
  op['responses'] = responses(route, errors);
  if (!doc) op[UNDESCRIBED] = true;
  if (doc?.dangerous) op[DANGEROUS] = true;
  return op;
}

function responses(route: ServedRoute, errors: ErrorModel): JsonObject {
  const doc = route.doc;
  const result: JsonObject = {};
  for (const [status, response] of Object.entries(doc?.responses ?? {})) {
    result[status] = {
      description: response.description,
      ...(response.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(response.headers).map(([name, header]) => [name, { description: header.description, required: header.required ?? false, schema: jsonSchema(header.schema, 'output') }]),
            ),
          }
        : {}),
      ...(response.schema ? { content: { [response.mediaType ?? 'application/json']: { schema: jsonSchema(response.schema, 'output') } } } : {}),
    };
  }
  if (!doc) result['default'] = { description: 'Not described' };
  const secured = (route.security ?? []).some((alternative) => Object.keys(alternative).length > 0) && !(route.security ?? []).some((a) => Object.keys(a).length === 0);
  const shape = { body: Boolean(doc?.body), input: Boolean(doc?.body) || pathParams(route.path).length > 0 || Object.keys(doc?.query ?? {}).length > 0, secured };
  const codes = [...new Set([...(doc?.impliedErrors === false ? [] : errors.implied(shape)), ...(doc?.errors ?? [])])];
  const byStatus = new Map<number, string[]>();
  for (const code of codes) {
    const status = errors.statusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const errorSchema = jsonSchema(errors.body(list), 'output');
    const existing = result[String(status)] as { description: string; content?: Record<string, { schema: unknown }> } | undefined;
    const json = existing?.content?.['application/json'];
    if (existing && json) {
      json.schema = { anyOf: [json.schema, errorSchema] };
      existing.description = `${existing.description}; or an error: ${list.join(', ')}`;
    } else {
      result[String(status)] = { description: `Error: ${list.join(', ')}`, content: { 'application/json': { schema: errorSchema } } };
    }
  }
  return result;
}

/** A zod schema as the JSON Schema (2020-12, which OpenAPI 3.1 uses) of what it accepts or gives. */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const converted = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  delete converted['$schema'];
  return converted;
}

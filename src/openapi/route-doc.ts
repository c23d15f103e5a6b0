import type { MiddlewareHandler } from 'hono';
import type { z } from 'zod';

/**
 * The description of one route, attached to the route itself (`describeRoute()` in its
 * handler chain) so the OpenAPI document is read off the served app and cannot list a route
 * that is not served or miss one that is. Request schemas are the zod schemas the handler
 * validates with; response schemas are checked against the TypeScript types where they are
 * defined.
 */
export interface RouteDoc {
  readonly summary: string;
  readonly description?: string;
  /** Groups in the document and on the reference page. */
  readonly tags: readonly string[];
  /** Path parameters by name (`:id` in the route is `{id}` in the document). */
  readonly params?: Readonly<Record<string, ParamDoc>>;
  readonly query?: Readonly<Record<string, ParamDoc & { readonly required?: boolean }>>;
  readonly body?: BodyDoc;
  /** Successful (and other non-error) answers by status. */
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /**
   * Error codes this route answers beyond those its shape implies (a body or a parameter:
   * INVALID_INPUT; a guard: UNAUTHORIZED); each becomes a response of its code's status.
   */
  readonly errors?: readonly string[];
  /** False: the route answers only the `errors` listed (it validates nothing the usual way). Default true. */
  readonly impliedErrors?: boolean;
  /**
   * For a route that checks credentials itself instead of behind a guard (the dashboard page
   * shows its login form without them): the security it accepts; `{}` among them: optional.
   */
  readonly security?: SecurityAlternatives;
  /** Changes cluster state (takeover, moves, drains): the fuzzer runs it against a throwaway cluster only. */
  readonly dangerous?: boolean;
}

export interface ParamDoc {
  readonly schema: z.ZodType;
  readonly description: string;
}

export interface BodyDoc {
  readonly schema: z.ZodType;
  /** False: an empty body counts as `{}` (every field has a default). Default true. */
  readonly required?: boolean;
  /** Default application/json. */
  readonly mediaType?: string;
  readonly description?: string;
}

export interface ResponseDoc {
  readonly description: string;
  /** Absent: no body (a redirect). */
  readonly schema?: z.ZodType;
  /** Default application/json. */
  readonly mediaType?: string;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: z.ZodType; readonly required?: boolean }>>;
}

/** An OpenAPI security requirement: any one of the listed alternatives is enough. */
export type SecurityAlternatives = readonly Readonly<Record<string, readonly string[]>>[];

const DOC = Symbol.for('shardline.routeDoc');
const SECURITY = Symbol.for('shardline.routeSecurity');
/** Hono's Hono#route() wraps handlers of a sub-app with its own onError and keeps the original here. */
const COMPOSED_HANDLER = '__COMPOSED_HANDLER';

type Marked = MiddlewareHandler & { [DOC]?: RouteDoc; [SECURITY]?: SecurityAlternatives };

/** A middleware that does nothing but carry the route's description. */
export function describeRoute(doc: RouteDoc): MiddlewareHandler {
  const marker: Marked = async (_c, next) => {
    await next();
  };
  marker[DOC] = doc;
  return marker;
}

/** Marks a guard with the security it enforces, so the document states what the guard really checks. */
export function withSecurity<T extends MiddlewareHandler>(guard: T, security: SecurityAlternatives): T {
  (guard as Marked)[SECURITY] = security;
  return guard;
}

/** The innermost handler behind Hono's onError wrappers. */
function unwrap(handler: unknown): Marked | null {
  let current = handler as (Marked & { [COMPOSED_HANDLER]?: unknown }) | null;
  for (let depth = 0; current && depth < 16; depth++) {
    const inner = current[COMPOSED_HANDLER];
    if (typeof inner !== 'function') return current;
    current = inner as Marked;
  }
  return current;
}

export function docOf(handler: unknown): RouteDoc | undefined {
  return unwrap(handler)?.[DOC];
}

export function securityOf(handler: unknown): SecurityAlternatives | undefined {
  return unwrap(handler)?.[SECURITY];
}

import type { Hono } from 'hono';
import { z } from 'zod';
import type { ErrorCode } from '../core/errors.ts';
import { openApiDocument, type ErrorModel, type OpenApiDocument } from '../openapi/openapi-document.ts';
import { VERSION } from '../version.ts';
import { SECURITY_SCHEMES } from './api-security.ts';
import { ERROR_STATUS } from './error-status.ts';

export const TAGS = [
  { name: 'public', description: 'No credentials: health, readiness, this document.' },
  { name: 'admin', description: "The operator's API: status, metrics, SQL, takeover, moves, drains, reshards (admin token, or the dashboard's cookie)." },
  { name: 'dashboard', description: 'The server-rendered operator pages.' },
  { name: 'internal', description: 'Node to node (cluster secret): heartbeats, forwarded writes, identify slots, REST leases, shard commands, reshards.' },
] as const;

/** `{ "error": { "code", "message", "details"? } }` with one of `codes`. */
export function errorBody(codes: readonly string[]): z.ZodType {
  return z.strictObject({
    error: z.strictObject({
      code: z.enum(codes as [string, ...string[]]),
      message: z.string().describe('What failed and the state that made it fail'),
      details: z.record(z.string(), z.unknown()).optional().describe('Machine-readable context (shard id, epoch, primary...)'),
    }),
  });
}

/** The node's errors: statuses from the one table (error-status.ts). */
export const NODE_ERRORS: ErrorModel = {
  statusOf: (code) => ERROR_STATUS[code as ErrorCode] ?? 500,
  body: errorBody,
  implied: ({ body, input, secured }) => [...(secured ? ['UNAUTHORIZED'] : []), ...(input ? ['INVALID_INPUT'] : []), ...(body ? ['TOO_LARGE'] : [])],
};

const DESCRIPTION = `Every shardline node serves this API. Errors are JSON \`{ "error": { "code", "message" } }\` with a stable code; a rejected request changes nothing. A request that needs the primary on a replica is forwarded or answers 409 NOT_PRIMARY naming the primary. This document is generated from the zod schemas the routes validate with, and lists exactly the routes this node serves.`;

/** The OpenAPI 3.1 document of a node's app (GET /openapi.json). */
export function nodeApiDocument(app: Hono): OpenApiDocument {
  return openApiDocument(app, {
    info: { title: 'shardline node API', version: VERSION, description: DESCRIPTION },
    tags: TAGS,
    securitySchemes: SECURITY_SCHEMES,
    errors: NODE_ERRORS,
  });
}

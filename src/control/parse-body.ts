import type { Context } from 'hono';
import { z } from 'zod';
import { ShardlineError, isShardlineError } from '../core/errors.ts';

/** Parses and validates a JSON body; every failure is a 400 naming the field. */
export async function parseBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch (error) {
    if (isShardlineError(error)) throw error;
    throw new ShardlineError('INVALID_INPUT', 'Request body is not valid JSON');
  }
  return validate(json, schema);
}

/**
 * As parseBody, but no body (zero bytes) counts as `{}` (routes whose every field has a
 * default). A body of whitespace is not JSON and is refused like any other.
 */
export async function parseOptionalBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const text = await c.req.text();
  if (text === '') return validate({}, schema);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ShardlineError('INVALID_INPUT', 'Request body is not valid JSON');
  }
  return validate(json, schema);
}

function validate<T>(json: unknown, schema: z.ZodType<T>): T {
  const result = schema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.join('.') || 'body';
      // A message that names its field already ("seq must be an integer...") reads as it is.
      return issue.message.startsWith(`${where} `) ? issue.message : `${where}: ${issue.message}`;
    });
    throw new ShardlineError('INVALID_INPUT', `Invalid request body: ${problems.join('; ')}`, { details: { problems } });
  }
  return result.data;
}

/** A shard id in a path (`/shards/:id/...`): digits only, so `1e1` or ` 1` never pass as 10 or 1. */
export const shardIdPath = z.string().regex(/^\d{1,5}$/).describe('Shard id: a non-negative integer (at most 5 digits)');

/** Node ids as the heartbeat accepts them (LiteFS hostnames, Fly machine ids). */
export const nodeIdPath = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).describe("Node id: 1-64 letters, digits, '.', '_' or '-'");

export function shardIdParam(text: string): number {
  if (!shardIdPath.safeParse(text).success) throw new ShardlineError('INVALID_INPUT', `Shard id must be a non-negative integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function nodeIdParam(text: string): string {
  if (!nodeIdPath.safeParse(text).success) throw new ShardlineError('INVALID_INPUT', `Node id must be 1-64 letters, digits, '.', '_' or '-', got ${JSON.stringify(text.slice(0, 80))}`);
  return text;
}

import { z } from 'zod';

export const QUERY_LIMITS = { defaultRows: 1_000, maxRows: 10_000, defaultTimeoutMs: 2_000, maxTimeoutMs: 10_000, defaultBytes: 4 * 1024 * 1024, maxBytes: 32 * 1024 * 1024 } as const;

/** POST /query's body. */
export const queryBody = z.strictObject({
  sql: z.string().min(1, 'sql must not be empty').max(100_000).describe('One read-only statement'),
  params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).max(1_000).default([]).describe('Values of the ? placeholders'),
  maxRows: z.number().int().min(1).max(QUERY_LIMITS.maxRows).default(QUERY_LIMITS.defaultRows),
  timeoutMs: z.number().int().min(1).max(QUERY_LIMITS.maxTimeoutMs).default(QUERY_LIMITS.defaultTimeoutMs),
  maxBytes: z.number().int().min(1).max(QUERY_LIMITS.maxBytes).default(QUERY_LIMITS.defaultBytes).describe('The result as JSON past this many bytes is refused with TOO_LARGE, never truncated'),
});

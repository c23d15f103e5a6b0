import { z } from 'zod';

/**
 * POST /internal/rest/lease: each node, once per heartbeat interval, tells the primary what it
 * spends and wants, and gets back its share of the token's global limit (a lease), the
 * cluster's invalid-request count, and the buckets other nodes found spent or contended.
 * Nothing here sits on a request's path: nodes spend their share locally.
 */

const rateLimitCounts = z.strictObject({
  global: z.number().int().nonnegative(),
  user: z.number().int().nonnegative(),
  shared: z.number().int().nonnegative(),
  sublimit: z.number().int().nonnegative(),
});

export const bucketReport = z.strictObject({
  /** djs's `METHOD:/route/:id` key, so a node that never called the route can match it. */
  route: z.string().max(300),
  /** X-RateLimit-Bucket. */
  hash: z.string().max(100),
  major: z.string().max(200),
  limit: z.number().int().nonnegative(),
  /** Until the bucket's window (or the 429's Retry-After) ends, from when the report was sent. */
  blockedForMs: z.number().nonnegative().max(86_400_000),
  /** exhausted: a success with Remaining 0; the others: a 429 of that scope. */
  kind: z.enum(['exhausted', 'user', 'shared', 'sublimit']),
});
export type BucketReport = z.infer<typeof bucketReport>;

export const leaseRequest = z.strictObject({
  nodeId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  /** Requests per second this node would send if nothing held it back (sent + waiting). */
  demand: z.number().nonnegative().max(1_000_000),
  /** The share this node enforces now, and the largest it enforced within the last window. */
  holding: z.number().int().nonnegative(),
  windowMax: z.number().int().nonnegative(),
  /** 401, 403 and non-shared 429 answers this node got within the invalid-request window. */
  invalid: z.number().int().nonnegative(),
  /** Totals since the node started, for the cluster's status. */
  sent: z.number().int().nonnegative(),
  rateLimited: rateLimitCounts,
  /**
   * The primary this node's lease came from, once it lost the lease (or its port refused
   * connections): a node that stops being primary spends nothing until a new primary grants it
   * a share, so the new primary need not keep its old share aside for long.
   */
  formerPrimary: z.string().max(64).nullable(),
  buckets: z.array(bucketReport).max(256),
});
export type LeaseRequest = z.infer<typeof leaseRequest>;

export interface BucketNotice {
  readonly route: string;
  readonly hash: string;
  readonly major: string;
  readonly limit: number;
  /** > 0: wait this long before sending on the bucket (another node spent it or hit a 429). */
  readonly blockedForMs: number;
  /** Nodes that recently spent the bucket; with two or more, each keeps to its part of `limit`. */
  readonly contenders: readonly string[];
}

export interface LeaseGrant {
  /** Who granted it (the primary's node id). */
  readonly primary: string;
  /** The token's global limit, requests per second. */
  readonly limit: number;
  readonly share: number;
  /** The lease ends this long after the request was sent; then `fallbackShare` applies. */
  readonly ttlMs: number;
  /** Spent after the lease ends until a grant comes again (never more than the whole, shared by `nodes`). */
  readonly fallbackShare: number;
  /** Nodes the budget is divided among. */
  readonly nodes: number;
  /** Every node's share, for status pages. */
  readonly shares: Readonly<Record<string, number>>;
  readonly invalid: { readonly count: number; readonly limit: number; readonly windowMs: number };
  readonly buckets: readonly BucketNotice[];
}

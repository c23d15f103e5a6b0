import type { HostStatus } from '../../host/host-status.ts';

/** The dashboard's REST panel: the token's one budget, how the cluster splits it, and how close the ban is. */
export interface RestView {
  readonly limit: number;
  readonly share: number;
  readonly source: string;
  readonly sentLastWindow: number;
  readonly waiting: number;
  readonly rateLimited: Readonly<Record<'global' | 'user' | 'shared' | 'sublimit', number>>;
  readonly invalid: { readonly cluster: number; readonly limit: number; readonly throttleAt: number; readonly stopAt: number; readonly level: string };
  readonly buckets: { readonly contended: number; readonly blocked: number };
  /** Every node's share; demand, totals and 429s where the primary's view is at hand. */
  readonly nodes: readonly { readonly id: string; readonly share: number; readonly demand: number | null; readonly sentPerSec: number | null; readonly sent: number | null; readonly rateLimited: number | null }[];
  /** Whether `nodes` is the primary's own view (else the shares its last lease carried). */
  readonly fromPrimary: boolean;
}

export function restView(rest: HostStatus['rest']): RestView | null {
  if (!rest) return null;
  const node = rest.node;
  const cluster = rest.cluster;
  const nodes = cluster
    ? cluster.nodes.map((n) => ({ id: n.id, share: n.share, demand: Math.round(n.demand), sentPerSec: Math.round(n.sentPerSec * 10) / 10, sent: n.sent, rateLimited: n.rateLimited.global + n.rateLimited.user + n.rateLimited.shared + n.rateLimited.sublimit }))
    : Object.entries(node.shares).map(([id, share]) => ({ id, share, demand: null, sentPerSec: null, sent: null, rateLimited: null }));
  return {
    limit: node.limit,
    share: node.share,
    source: node.source,
    sentLastWindow: node.sentLastWindow,
    waiting: node.waiting,
    rateLimited: node.rateLimited,
    invalid: { cluster: node.invalid.cluster, limit: node.invalid.limit, throttleAt: node.invalid.throttleAt, stopAt: node.invalid.stopAt, level: node.invalid.level },
    buckets: { contended: node.buckets.contended, blocked: node.buckets.blocked },
    nodes: nodes.sort((a, b) => (a.id < b.id ? -1 : 1)),
    fromPrimary: cluster !== null,
  };
}

import { describe, expect, it } from 'vitest';
import type { RestBudgetView } from '../../host/rest-budget-host.ts';
import { restView } from './dashboard-rest.ts';

const node: RestBudgetView['node'] = {
  nodeId: 'b',
  limit: 50,
  share: 17,
  source: 'lease',
  primary: 'a',
  leaseAgeMs: 120,
  shares: { a: 17, b: 17, c: 16 },
  sent: 900,
  sentLastWindow: 17,
  waiting: 40,
  rateLimited: { global: 0, user: 2, shared: 1, sublimit: 0 },
  invalid: { local: 3, cluster: 5_200, limit: 10_000, level: 'warn', warnAt: 5_000, throttleAt: 7_000, stopAt: 9_000 },
  buckets: { contended: 1, blocked: 0, waits: 4 },
  formerPrimary: null,
};

describe('the dashboard REST panel', () => {
  it("shows the shares a replica's lease carried", () => {
    const view = restView({ node, cluster: null })!;
    expect(view.nodes).toEqual([
      { id: 'a', share: 17, demand: null, sentPerSec: null, sent: null, rateLimited: null },
      { id: 'b', share: 17, demand: null, sentPerSec: null, sent: null, rateLimited: null },
      { id: 'c', share: 16, demand: null, sentPerSec: null, sent: null, rateLimited: null },
    ]);
    expect(view).toMatchObject({ share: 17, limit: 50, fromPrimary: false, invalid: { cluster: 5_200, level: 'warn' } });
  });

  it("shows the primary's allocation with demand and 429s", () => {
    const limited = { global: 1, user: 2, shared: 0, sublimit: 0 };
    const view = restView({
      node,
      cluster: { primary: 'b', limit: 50, committed: 50, buckets: 3, invalid: { count: 5_200, limit: 10_000, windowMs: 600_000 }, nodes: [{ id: 'b', share: 25, committed: 25, demand: 80.4, heardAgoMs: 0, invalid: 3, sent: 900, sentPerSec: 24.04, rateLimited: limited }] },
    })!;
    expect(view.nodes).toEqual([{ id: 'b', share: 25, demand: 80, sentPerSec: 24, sent: 900, rateLimited: 3 }]);
    expect(view.fromPrimary).toBe(true);
  });

  it('shows nothing for a node without a budget', () => {
    expect(restView(null)).toBeNull();
    expect(restView(undefined)).toBeNull();
  });
});

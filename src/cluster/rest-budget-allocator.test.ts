import { describe, expect, it } from 'vitest';
import { RestBudgetAllocator } from './rest-budget-allocator.ts';
import type { LeaseRequest } from './rest-budget-protocol.ts';

const TIMING = { limit: 50, ttlMs: 5_000, windowMs: 1_010, fallbackMs: 10_000, invalidLimit: 10_000, invalidWindowMs: 600_000 };
const NODES = ['a', 'b', 'c'];

function ask(nodeId: string, demand: number, holding: number): LeaseRequest {
  return { nodeId, demand, holding, windowMax: holding, invalid: 0, sent: 0, rateLimited: { global: 0, user: 0, shared: 0, sublimit: 0 }, formerPrimary: null, buckets: [] };
}

/** An allocator past its start-up (every node heard, idle), each node holding what it was granted. */
function idleCluster(): { allocator: RestBudgetAllocator; held: Map<string, number>; now: number } {
  const start = 1_000_000;
  const allocator = new RestBudgetAllocator({ ...TIMING, nodeId: 'a', knownNodes: NODES.map((id) => ({ id, lastHeartbeatAt: start })), now: start });
  const held = new Map<string, number>();
  let now = start + TIMING.ttlMs + TIMING.windowMs;
  for (let round = 0; round < 3; round += 1) {
    for (const id of NODES) held.set(id, allocator.lease(ask(id, 0, held.get(id) ?? 0), now).share);
    now += 1_000;
  }
  return { allocator, held, now };
}

describe('RestBudgetAllocator', () => {
  it('regression: the first node to report a cluster-wide burst took the room of the others and gave it back a window later (7% of the limit lost)', () => {
    const { allocator, held, now } = idleCluster();
    // All three start wanting far more than the limit; a asks first.
    const first = allocator.lease(ask('a', 200, held.get('a')!), now);
    expect(first.share).toBeLessThanOrEqual(16);
    held.set('a', first.share);
    for (const id of ['b', 'c']) held.set(id, allocator.lease(ask(id, 200, held.get(id)!), now + 300).share);
    // A lease interval on: everyone reported, the shares are even and use the whole limit.
    for (const id of NODES) held.set(id, allocator.lease(ask(id, 200, held.get(id)!), now + 1_000 + 1_100).share);
    expect([...held.values()].sort()).toEqual([16, 17, 17]);
  });

  it('lets a node that alone wants more grow past an even split at its next lease', () => {
    const { allocator, held, now } = idleCluster();
    const first = allocator.lease(ask('a', 200, held.get('a')!), now);
    expect(first.share).toBeLessThanOrEqual(16);
    for (const id of ['b', 'c']) allocator.lease(ask(id, 0, held.get(id)!), now + 300);
    const second = allocator.lease(ask('a', 200, first.share), now + 1_000);
    expect(second.share).toBeGreaterThan(16);
  });
});

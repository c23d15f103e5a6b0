import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ShardlineError } from '../core/errors.ts';
import { SILENT_LOGGER } from '../core/silent-logger.ts';
import { RestBudgetAllocator, type RestBudgetTiming } from './rest-budget-allocator.ts';
import { RestBudgetClient } from './rest-budget-client.ts';

/**
 * The REST budget's protocol end to end on a fake clock: real clients and allocators, a model
 * of Discord that decides each request at a random moment of its flight, and the property the
 * simulator enforces: at most `limit` decisions in any second, through demand changes, a
 * primary's death and a takeover.
 */
const LIMIT = 20;
const TIMING: RestBudgetTiming = { limit: LIMIT, ttlMs: 1_000, windowMs: 1_010, fallbackMs: 3_000, invalidLimit: 10_000, invalidWindowMs: 600_000 };

interface ModelNode {
  readonly id: string;
  readonly client: RestBudgetClient;
  alive: boolean;
  diedAt: number;
  load: boolean;
}

function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

describe('the REST budget protocol (fake clock)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  function model(seed: number) {
    const random = rng(seed);
    const decisions: number[] = [];
    let primary: string | null = 'a';
    const allocators = new Map<string, RestBudgetAllocator>();
    const nodes = new Map<string, ModelNode>();
    const allocatorOf = (id: string, former: string | null) => {
      let allocator = allocators.get(id);
      if (!allocator) {
        // The nodes table: each node's last heartbeat, as the old primary recorded it.
        const knownNodes = [...nodes.values()].map((n) => ({ id: n.id, lastHeartbeatAt: n.alive ? Date.now() : n.diedAt }));
        allocator = new RestBudgetAllocator({ ...TIMING, nodeId: id, knownNodes, formerPrimary: former, now: Date.now() });
        allocators.set(id, allocator);
      }
      return allocator;
    };
    for (const id of ['a', 'b', 'c']) {
      const node: ModelNode = {
        id,
        alive: true,
        diedAt: 0,
        load: true,
        client: new RestBudgetClient({
          nodeId: id,
          limit: LIMIT,
          windowMs: TIMING.windowMs,
          leaseIntervalMs: 200,
          fallbackMs: TIMING.fallbackMs,
          invalidLimit: TIMING.invalidLimit,
          invalidWindowMs: TIMING.invalidWindowMs,
          logger: SILENT_LOGGER,
          primaryNow: () => primary,
          lease: async (request) => {
            // The primary answers only while it lives, and one call in seven is lost on the way.
            await Promise.resolve();
            const to = primary;
            if (!to || !nodes.get(to)!.alive || random() < 1 / 7) throw new ShardlineError('GATEWAY_UNAVAILABLE', `cannot reach ${to}`);
            return allocatorOf(to, nodes.get(to)!.client.lastPrimary).lease(request, Date.now());
          },
        }),
      };
      nodes.set(id, node);
    }
    const key = { route: 'POST:/channels/:id/messages', hash: null, major: 'x' };
    // Each node keeps 30 requests waiting; a request is decided somewhere in its 2-80 ms flight.
    const runLoad = async (node: ModelNode) => {
      while (node.alive) {
        if (!node.load) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const slot = await node.client.acquire(key, 'POST /x').catch(() => null);
        if (!slot) continue;
        const flight = 2 + random() * 78;
        const decided = Date.now() + random() * flight;
        setTimeout(() => {
          decisions.push(decided);
          node.client.release(slot, random() < 0.8 ? decided : null);
        }, flight);
      }
    };
    const loops: Promise<void>[] = [];
    const start = () => {
      for (const node of nodes.values()) {
        for (let i = 0; i < 30; i += 1) loops.push(runLoad(node));
        const tick = setInterval(() => (node.alive ? void node.client.refresh() : clearInterval(tick)), 200 + Math.floor(random() * 20));
      }
    };
    const maxPerSecond = () => {
      const sorted = [...decisions].sort((x, y) => x - y);
      let max = 0;
      for (let i = 0, j = 0; i < sorted.length; i += 1) {
        while (sorted[i]! - sorted[j]! >= 1_000) j += 1;
        max = Math.max(max, i - j + 1);
      }
      return max;
    };
    const kill = (id: string) => {
      const node = nodes.get(id)!;
      node.alive = false;
      node.diedAt = Date.now();
      node.client.close();
    };
    const setPrimary = (id: string | null) => {
      primary = id;
      for (const node of nodes.values()) if (node.alive) node.client.leadershipChanged();
    };
    const close = () => {
      for (const node of nodes.values()) kill(node.id);
    };
    return { nodes, decisions, start, maxPerSecond, kill, setPrimary, close, allocators };
  }

  it.each([1, 2, 3, 4, 5])('never lets Discord see more than the limit in a second, through demand changes, a death and a takeover (seed %i)', async (seed) => {
    const m = model(seed);
    m.start();
    await vi.advanceTimersByTimeAsync(3_000);
    // Demand moves: b goes idle, then comes back.
    m.nodes.get('b')!.load = false;
    await vi.advanceTimersByTimeAsync(2_000);
    m.nodes.get('b')!.load = true;
    await vi.advanceTimersByTimeAsync(2_000);
    const beforeDeath = m.decisions.length;
    // The primary dies; LiteFS knows nobody for a second, then names b.
    m.kill('a');
    m.setPrimary(null);
    await vi.advanceTimersByTimeAsync(1_000);
    m.setPrimary('b');
    await vi.advanceTimersByTimeAsync(4_000);
    // A takeover: c becomes primary while b lives on.
    m.setPrimary('c');
    await vi.advanceTimersByTimeAsync(4_000);
    const total = m.decisions.length;
    m.close();
    await vi.advanceTimersByTimeAsync(2_000);

    expect(m.maxPerSecond()).toBeLessThanOrEqual(LIMIT);
    // And the budget is used: most of the limit over each phase (round trips and the failover cost some).
    expect(beforeDeath / 7).toBeGreaterThan(LIMIT * 0.85);
    expect((total - beforeDeath) / 9).toBeGreaterThan(LIMIT * 0.8);
  });
});

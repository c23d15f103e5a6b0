import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LiteFsLeadership } from '../../src/cluster/litefs-leadership.ts';
import { isShardlineError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/log/create-logger.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** A LiteFS cluster the contract runs against: simulated in-process, or real processes. */
export interface LeadershipHarness {
  /** LiteFS HTTP API per node, by lease hostname. */
  readonly nodes: readonly { readonly hostname: string; readonly url: string }[];
  /** A node that is not a lease candidate, when the harness has one. */
  readonly nonCandidate?: string;
  /** Upper bound for a failover (lease expiry + election) in this harness. */
  readonly failoverMs: number;
  kill(hostname: string): Promise<void>;
  restart(hostname: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The leadership contract, shared by every LiteFS implementation shardline runs against:
 * the simulated LiteFS in `npm test`, real LiteFS with Consul in `npm run test:litefs`.
 */
export function leadershipContract(name: string, createHarness: () => Promise<LeadershipHarness>): void {
  describe(`leadership contract: ${name}`, () => {
    let harness: LeadershipHarness;
    let leaderships: Map<string, LiteFsLeadership>;

    beforeEach(async () => {
      harness = await createHarness();
      leaderships = new Map(harness.nodes.map((n) => [n.hostname, new LiteFsLeadership({ url: n.url, logger: silentLogger(), reconnectDelayMs: 50 })]));
    });

    afterEach(async () => {
      for (const leadership of leaderships.values()) await leadership.close();
      await harness.close();
    });

    const of = (hostname: string): LiteFsLeadership => leaderships.get(hostname)!;
    const startAll = async (): Promise<void> => {
      await Promise.all([...leaderships.values()].map((l) => l.start(AbortSignal.timeout(harness.failoverMs * 2))));
    };
    const primaryOf = async (): Promise<string> =>
      waitFor(() => {
        const states = [...leaderships.values()].map((l) => l.current());
        const primaries = harness.nodes.filter((n) => of(n.hostname).current().isPrimary);
        if (primaries.length !== 1) return null;
        const hostname = primaries[0]!.hostname;
        return states.every((s) => s.known && s.primary === hostname) ? hostname : null;
      }, { timeoutMs: harness.failoverMs * 2, message: 'every node agrees on exactly one primary' });

    it('agrees on exactly one primary, named the same by every node', async () => {
      await startAll();
      const primary = await primaryOf();
      expect(harness.nodes.map((n) => n.hostname)).toContain(primary);
      expect(of(primary).current()).toEqual({ known: true, isPrimary: true, primary });
    });

    it('promotes a replica, which then is the only primary', async () => {
      await startAll();
      const before = await primaryOf();
      const target = harness.nodes.find((n) => n.hostname !== before && n.hostname !== harness.nonCandidate)!.hostname;
      const changes: boolean[] = [];
      of(before).subscribe((state) => changes.push(state.isPrimary));
      const result = await of(target).promote({ timeoutMs: harness.failoverMs * 2 });
      expect(result.alreadyPrimary).toBe(false);
      expect(result.tookMs).toBeGreaterThanOrEqual(0);
      expect(of(target).current().isPrimary).toBe(true);
      expect(await primaryOf()).toBe(target);
      expect(changes).toContain(false);
    });

    it('answers a promotion of the primary itself without asking LiteFS', async () => {
      await startAll();
      const primary = await primaryOf();
      expect(await of(primary).promote()).toEqual({ tookMs: 0, alreadyPrimary: true });
    });

    it('refuses to promote a node that is not a candidate', async (context) => {
      if (!harness.nonCandidate) return context.skip('skipped because this harness has no non-candidate node');
      await startAll();
      await primaryOf();
      const error = await of(harness.nonCandidate).promote().catch((e: unknown) => e);
      expect(isShardlineError(error, 'CONFLICT')).toBe(true);
    });

    it('elects a new primary after the primary crashes, and the role is never claimed twice', async () => {
      await startAll();
      const dead = await primaryOf();
      let doubled = false;
      const survivors = harness.nodes.filter((n) => n.hostname !== dead);
      for (const n of survivors) {
        of(n.hostname).subscribe(() => {
          if (survivors.filter((s) => of(s.hostname).current().isPrimary).length > 1) doubled = true;
        });
      }
      await harness.kill(dead);
      const next = await waitFor(() => {
        const primaries = survivors.filter((n) => of(n.hostname).current().isPrimary);
        const agreed = primaries.length === 1 && survivors.every((n) => of(n.hostname).current().primary === primaries[0]!.hostname);
        return agreed ? primaries[0]!.hostname : null;
      }, { timeoutMs: harness.failoverMs * 3, message: 'a surviving node becomes primary' });
      expect(next).not.toBe(dead);
      expect(doubled).toBe(false);
      expect(of(dead).current().known).toBe(false);
    });

    it('reports the role unknown while LiteFS is unreachable, and known again once it is back', async () => {
      await startAll();
      const primary = await primaryOf();
      const replica = harness.nodes.find((n) => n.hostname !== primary)!.hostname;
      await harness.kill(replica);
      await waitFor(() => !of(replica).current().known, { message: 'role unknown on the killed node' });
      expect(of(replica).current().isPrimary).toBe(false);
      await harness.restart(replica);
      await waitFor(() => of(replica).current().known, { timeoutMs: harness.failoverMs * 3, message: 'role known again after restart' });
      expect(of(replica).current().isPrimary).toBe(false);
    });

    it('stops following and notifying after close', async () => {
      await startAll();
      const primary = await primaryOf();
      const replica = harness.nodes.find((n) => n.hostname !== primary && n.hostname !== harness.nonCandidate)!.hostname;
      const calls: unknown[] = [];
      of(primary).subscribe((state) => calls.push(state));
      await of(primary).close();
      expect(of(primary).current().known).toBe(false);
      await of(replica).promote({ timeoutMs: harness.failoverMs * 2 });
      expect(calls).toEqual([]);
    });
  });
}

import { describe, expect, it } from 'vitest';
import { SILENT_LOGGER } from '../core/silent-logger.ts';
import type { HostStatus } from './host-status.ts';
import { MetricsHistory } from './metrics-history.ts';

const status = (funnel: Partial<NonNullable<HostStatus['funnel']>> | null): HostStatus =>
  ({
    assignments: [
      { shardId: 0, nodeId: 'a', epoch: 1, state: 'running', updatedAt: 0 },
      { shardId: 1, nodeId: null, epoch: 1, state: 'pending', updatedAt: 0 },
    ],
    funnel,
    forwarder: funnel ? null : { queuedEntries: 1, queuedRows: 4, batches: 0, failures: 0 },
  }) as unknown as HostStatus;

describe('MetricsHistory', () => {
  it('samples seqs, owners, the funnel and staleness, keeping only the newest samples', () => {
    let now = 10_000;
    let fail = false;
    const history = new MetricsHistory({
      status: () => status({ queuedRows: 7, transactions: 3, totalFlushMs: 90 }),
      sessions: () => {
        if (fail) throw new Error('database closed');
        return [{ shardId: 0, sessionId: 's', seq: now / 100, updatedAt: now - 40 }];
      },
      logger: SILENT_LOGGER,
      keep: 2,
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      history.sample();
      now += 2_000;
    }
    fail = true;
    history.sample();
    const samples = history.samples();
    expect(samples.map((s) => s.at)).toEqual([12_000, 14_000]);
    expect(samples[1]).toMatchObject({ funnel: { queuedRows: 7, transactions: 3, totalFlushMs: 90 }, forwarderQueuedRows: null, stalenessMs: 40 });
    expect([...samples[1]!.seqs]).toEqual([[0, { sessionId: 's', seq: 140 }]]);
    expect([...samples[1]!.owners]).toEqual([[0, 'a']]);
  });

  it('on a replica keeps its forwarding queue, and nothing while the database is not open', () => {
    let open = false;
    const history = new MetricsHistory({ status: () => status(null), sessions: () => (open ? [] : null), logger: SILENT_LOGGER, now: () => 1 });
    history.sample();
    expect(history.samples()).toEqual([]);
    open = true;
    history.sample();
    expect(history.samples()[0]).toMatchObject({ funnel: null, forwarderQueuedRows: 4, stalenessMs: null });
    history.start();
    history.close();
  });
});

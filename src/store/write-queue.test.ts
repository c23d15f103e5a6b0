import { describe, expect, it } from 'vitest';
import type { Mutation, WriteEntry } from '../core/mutation.ts';
import { WriteQueue } from './write-queue.ts';

const user = (id: string): Mutation => ({ op: 'upsert', table: 'users', row: { id, username: null, globalName: null, bot: false, avatar: null, raw: '{}' } });
const entry = (shardId: number, seq: number, rows = 1, epoch = 1): WriteEntry => ({
  shardId,
  epoch,
  mutations: Array.from({ length: rows }, (_, i) => user(`${shardId}-${seq}-${i}`)),
  session: { sessionId: `s${shardId}`, seq, resumeGatewayUrl: 'wss://gw.example', shardCount: 4 },
});

function queue(options: { fold?: boolean; highWaterRows?: number; stale?: (shardId: number, epoch: number) => boolean } = {}) {
  const events = { stale: 0, queued: 0 };
  const q = new WriteQueue({
    highWaterRows: options.highWaterRows ?? 100,
    fold: options.fold ?? true,
    ...(options.stale ? { fence: (s: number, e: number) => !options.stale!(s, e) } : {}),
    onStale: () => void (events.stale += 1),
    onQueued: () => void (events.queued += 1),
  });
  return { q, events };
}

describe('WriteQueue', () => {
  it('folds a rows-less entry into its shard\'s last open entry only, and never into one taken for a batch', () => {
    const { q, events } = queue();
    q.offer(entry(0, 1));
    q.offer(entry(0, 2, 0));
    expect(q.length).toBe(1);
    expect(q.folded).toBe(1);
    const { batch } = q.take(1_000);
    expect(batch.map((e) => e.session?.seq)).toEqual([2]);
    q.offer(entry(0, 3, 0)); // the shard's entry is out: a new one is queued
    q.offer(entry(0, 4, 0, 2)); // another epoch: never folded
    expect(q.length).toBe(3);
    q.removeHead(1, 1);
    q.offer(entry(0, 5, 0, 2));
    expect(q.take(1_000).batch.map((e) => [e.epoch, e.session?.seq])).toEqual([
      [1, 3],
      [2, 5],
    ]);
    expect(events.queued).toBe(3); // the two folded entries queued nothing
  });

  it('folds a session only into its own shard set\'s entry: during a reshard two sets share shard ids and epochs', () => {
    const { q } = queue();
    q.offer({ ...entry(0, 7), generation: 0 });
    q.offer({ ...entry(0, 1, 0), generation: 1, session: { sessionId: 'new', seq: 1, resumeGatewayUrl: 'wss://gw.example', shardCount: 8 } });
    q.offer({ ...entry(0, 8, 0), generation: 0 });
    expect(q.take(1_000).batch.map((e) => [e.generation, e.session?.sessionId, e.session?.seq])).toEqual([
      [0, 's0', 8],
      [1, 'new', 1],
    ]);
  });

  it('does not fold when told not to', () => {
    const { q } = queue({ fold: false });
    q.offer(entry(0, 1));
    q.offer(entry(0, 2, 0));
    expect([q.length, q.folded]).toEqual([2, 0]);
  });

  it('takes at most maxRows for a batch without splitting an entry, and always at least one; the next batch starts after it', () => {
    const { q } = queue({ highWaterRows: 1_000 });
    q.offer(entry(0, 1, 30));
    q.offer(entry(1, 1, 30));
    q.offer(entry(2, 1, 30));
    expect(q.take(70)).toMatchObject({ rows: 60 });
    expect([q.sent, q.unsentRows]).toEqual([2, 30]);
    expect(q.take(10).batch.map((e) => e.shardId)).toEqual([2]);
    q.returnSent(); // both batches came back without committing: unsent again, in order
    expect([q.sent, q.unsentRows]).toEqual([0, 90]);
    expect(q.take(70).batch.map((e) => e.shardId)).toEqual([0, 1]);
    expect(q.take(1_000).batch.map((e) => e.shardId)).toEqual([2]);
    q.removeHead(2, 60);
    expect([q.length, q.rows, q.pushed, q.removed, q.sent, q.unsentRows]).toEqual([1, 30, 3, 2, 1, 0]);
  });

  it('holds enqueue at the high-water mark and lets it go once rows leave, refuses stale and malformed entries', async () => {
    const { q, events } = queue({ highWaterRows: 2, stale: (shardId) => shardId === 9 });
    await q.enqueue(entry(0, 1, 2));
    expect(q.offer(entry(1, 1))).toBe(false);
    let released = false;
    const held = q.enqueue(entry(1, 1)).then(() => (released = true));
    expect(q.held).toBe(1);
    expect(q.length).toBe(2); // accepted, the caller just waits
    await q.enqueue(entry(0, 2, 0)); // folds: adds no row, not held
    q.removeHead(1, 2);
    await held;
    expect(released).toBe(true);
    await expect(q.enqueue(entry(9, 1))).rejects.toMatchObject({ code: 'STALE_EPOCH' });
    expect(events.stale).toBe(1);
    await expect(q.enqueue({ shardId: 1.5 } as unknown as WriteEntry)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('answers committed() once what was queued before it left, hands everything on in takeAll(), and refuses after close', async () => {
    const { q } = queue();
    q.offer(entry(0, 1));
    q.offer(entry(1, 1));
    let done = false;
    const waiting = q.committed().then(() => (done = true));
    q.removeHead(1, 1);
    await Promise.resolve();
    expect(done).toBe(false);
    expect(q.takeAll()).toHaveLength(1);
    await waiting;
    const failing = (q.offer(entry(2, 1)), q.committed());
    q.failed(new Error('disk full'));
    await expect(failing).rejects.toThrow('disk full');
    q.stopAccepting();
    expect(q.offer(entry(3, 1))).toBe(false);
    await expect(q.enqueue(entry(3, 1))).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(q.committed()).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

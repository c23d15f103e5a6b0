import { afterEach, describe, expect, it } from 'vitest';
import { isShardlineError } from '../core/errors.ts';
import type { QueryReply, QueryRequest, QueryWorker } from '../core/query-worker.ts';
import { QueryThreads } from './query-threads.ts';

/** A thread the test answers by hand; it exits only when told, as one stuck in a SQLite step would. */
class FakeWorker implements QueryWorker {
  running = true;
  terminated = false;
  closed = false;
  readonly requests: QueryRequest[] = [];
  #answer: ((reply: QueryReply) => void) | null = null;
  #exit!: () => void;
  readonly exited = new Promise<void>((resolve) => (this.#exit = resolve));

  /** False: the thread never gets as far as starting the statement (stuck booting). */
  startsQueries = true;

  run(request: QueryRequest, onStarted?: () => void): Promise<QueryReply> {
    this.requests.push(request);
    if (this.startsQueries) onStarted?.();
    return new Promise((resolve) => (this.#answer = resolve));
  }

  answer(reply: QueryReply = { ok: true, columns: ['n'], rows: [[1]], truncated: false, timedOut: false, bytes: 40 }): void {
    this.#answer?.(reply);
    this.#answer = null;
  }

  get asked(): boolean {
    return this.#answer !== null;
  }

  terminate(): void {
    this.terminated = true;
  }

  /** The step the thread was stuck in returned: it is gone now. */
  exit(): void {
    this.running = false;
    this.#exit();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.exit();
  }
}

const LIMITS = { maxRows: 10, timeoutMs: 50 };
let threads: QueryThreads | null = null;
afterEach(async () => {
  await threads?.close();
  threads = null;
});

function setup(options: { maxConcurrent?: number; graceMs?: number; startTimeoutMs?: number; idleMs?: number; booting?: boolean } = {}): { threads: QueryThreads; workers: FakeWorker[] } {
  const workers: FakeWorker[] = [];
  const { booting, ...rest } = options;
  threads = new QueryThreads({
    databasePath: '/nowhere/shardline.db',
    workers: () => {
      const worker = new FakeWorker();
      if (booting) worker.startsQueries = false;
      workers.push(worker);
      return worker;
    },
    graceMs: 20,
    ...rest,
  });
  return { threads, workers };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

describe('QueryThreads', () => {
  it('starts no thread before the first query and reuses an idle one after', async () => {
    const { threads, workers } = setup();
    expect(workers).toHaveLength(0);
    const first = threads.run('select 1', [], LIMITS);
    await until(() => workers[0]?.asked === true);
    workers[0]!.answer();
    await expect(first).resolves.toEqual({ columns: ['n'], rows: [[1]], truncated: false, timedOut: false, bytes: 40 });
    const second = threads.run('select 2', [], LIMITS);
    await until(() => workers[0]!.asked);
    workers[0]!.answer();
    await second;
    expect(workers).toHaveLength(1);
    expect(workers[0]!.requests.map((r) => r.sql)).toEqual(['select 1', 'select 2']);
  });

  it('closes a thread that has been idle for idleMs, and starts a new one for the next query', async () => {
    const { threads, workers } = setup({ idleMs: 30 });
    const first = threads.run('select 1', [], LIMITS);
    await until(() => workers[0]?.asked === true);
    workers[0]!.answer();
    await first;
    await until(() => workers[0]!.closed);
    const second = threads.run('select 2', [], LIMITS);
    await until(() => workers[1]?.asked === true);
    workers[1]!.answer();
    await second;
    expect(workers).toHaveLength(2);
  });

  it("rethrows the thread's error with its code", async () => {
    const { threads, workers } = setup();
    const query = threads.run('select nope', [], LIMITS);
    await until(() => workers[0]?.asked === true);
    workers[0]!.answer({ ok: false, code: 'INVALID_INPUT', message: 'Cannot run query: no such column: nope' });
    await expect(query).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'Cannot run query: no such column: nope' });
  });

  it('maps a code it does not know to INTERNAL', async () => {
    const { threads, workers } = setup();
    const query = threads.run('select 1', [], LIMITS);
    await until(() => workers[0]?.asked === true);
    workers[0]!.answer({ ok: false, code: 'SOMETHING_NEW', message: 'odd' });
    await expect(query).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('abandons a query that passes its limit and grace, and refuses others until its thread exits', async () => {
    const { threads, workers } = setup();
    const stuck = threads.run('with recursive forever', [], LIMITS);
    const error = await stuck.catch((e: unknown) => e);
    expect(isShardlineError(error, 'TIMEOUT')).toBe(true);
    expect((error as Error).message).toMatch(/time limit of 50 ms inside one SQLite step/);
    expect(workers[0]!.terminated).toBe(true);
    expect(threads.stats()).toMatchObject({ abandoned: 1, abandonedTotal: 1, running: 0 });

    await expect(threads.run('select 1', [], LIMITS)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', message: expect.stringMatching(/still inside a query abandoned .* past its time limit of 50 ms/) });
    expect(workers).toHaveLength(1);

    workers[0]!.exit();
    await until(() => threads.stats().abandoned === 0);
    const next = threads.run('select 1', [], LIMITS);
    await until(() => workers[1]?.asked === true);
    workers[1]!.answer();
    await expect(next).resolves.toMatchObject({ rows: [[1]] });
  });

  it("does not charge a thread's start-up to the query, and bounds it apart", async () => {
    const { threads, workers } = setup({ booting: true, graceMs: 10, startTimeoutMs: 200 });
    // Limit and grace (20 ms) pass long before the start-up bound: INTERNAL, not TIMEOUT, proves they were not charged.
    const query = threads.run('select 1', [], { maxRows: 10, timeoutMs: 10 });
    await expect(query).rejects.toMatchObject({ code: 'INTERNAL', message: 'Cannot run query: the query thread did not start it within 200 ms' });
    expect(workers[0]!.terminated).toBe(true);
  });

  it('queues a query behind a running one, within its own time limit', async () => {
    const { threads, workers } = setup({ maxConcurrent: 1, graceMs: 10_000 });
    const first = threads.run('select 1', [], { maxRows: 10, timeoutMs: 10_000 });
    await until(() => workers[0]?.asked === true);
    const second = threads.run('select 2', [], { maxRows: 10, timeoutMs: 10_000 });
    expect(threads.stats()).toMatchObject({ running: 1, waiting: 1 });
    workers[0]!.answer();
    await first;
    await until(() => workers[0]!.asked);
    expect(workers[0]!.requests.at(-1)!.sql).toBe('select 2');
    // The time spent waiting is taken from the limit the thread is given.
    expect(workers[0]!.requests.at(-1)!.timeoutMs).toBeLessThanOrEqual(10_000);
    workers[0]!.answer();
    await second;
    expect(workers).toHaveLength(1);
  });

  it('times a waiting query out when no thread frees up in its limit', async () => {
    const { threads, workers } = setup({ maxConcurrent: 1, graceMs: 10_000 });
    const first = threads.run('select 1', [], { maxRows: 10, timeoutMs: 10_000 });
    await until(() => workers[0]?.asked === true);
    await expect(threads.run('select 2', [], { maxRows: 10, timeoutMs: 30 })).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/waited its whole time limit of 30 ms/) });
    expect(threads.stats().waiting).toBe(0);
    workers[0]!.answer();
    await first;
  });

  it('tells a waiting query at once when the running one is abandoned', async () => {
    const { threads, workers } = setup({ maxConcurrent: 1, graceMs: 20 });
    const stuck = threads.run('slow', [], { maxRows: 10, timeoutMs: 20 }).catch((e: unknown) => e);
    await until(() => workers[0]?.asked === true);
    const waiting = threads.run('select 2', [], { maxRows: 10, timeoutMs: 60_000 });
    await expect(waiting).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(isShardlineError(await stuck, 'TIMEOUT')).toBe(true);
  });

  it('runs up to maxConcurrent queries side by side', async () => {
    const { threads, workers } = setup({ maxConcurrent: 2, graceMs: 10_000 });
    const a = threads.run('a', [], { maxRows: 10, timeoutMs: 10_000 });
    const b = threads.run('b', [], { maxRows: 10, timeoutMs: 10_000 });
    await until(() => workers.length === 2 && workers.every((w) => w.asked));
    expect(threads.stats()).toMatchObject({ running: 2, waiting: 0 });
    for (const w of workers) w.answer();
    await Promise.all([a, b]);
  });

  it('gives up a wait when its signal aborts', async () => {
    const { threads, workers } = setup({ maxConcurrent: 1, graceMs: 10_000 });
    const first = threads.run('select 1', [], { maxRows: 10, timeoutMs: 10_000 });
    await until(() => workers[0]?.asked === true);
    const controller = new AbortController();
    const second = threads.run('select 2', [], { maxRows: 10, timeoutMs: 10_000 }, controller.signal);
    controller.abort(new Error('client went away'));
    await expect(second).rejects.toThrow('client went away');
    expect(threads.stats().waiting).toBe(0);
    workers[0]!.answer();
    await first;
  });

  it('closes idle threads, stops running ones and refuses new queries', async () => {
    const { threads, workers } = setup({ maxConcurrent: 2, graceMs: 10_000 });
    const idle = threads.run('a', [], LIMITS);
    await until(() => workers[0]?.asked === true);
    workers[0]!.answer();
    await idle;
    const running = threads.run('b', [], { maxRows: 10, timeoutMs: 10_000 });
    await until(() => workers[0]!.asked);
    const busy = threads.run('c', [], { maxRows: 10, timeoutMs: 10_000 });
    await until(() => workers[1]?.asked === true);
    await threads.close();
    expect(workers.map((w) => w.terminated)).toEqual([true, true]);
    workers[0]!.answer({ ok: false, code: 'INTERNAL', message: 'the query thread was stopped' });
    workers[1]!.answer({ ok: false, code: 'INTERNAL', message: 'the query thread was stopped' });
    await expect(running).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(busy).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(threads.run('d', [], LIMITS)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('refuses a maxConcurrent that is not a positive integer', () => {
    expect(() => new QueryThreads({ databasePath: 'x', workers: () => new FakeWorker(), maxConcurrent: 0 })).toThrow(/maxConcurrent must be a positive integer, got 0/);
  });
});

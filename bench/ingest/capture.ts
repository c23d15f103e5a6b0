/**
 * CAPTURE=<dir> for bench/ingest.ts: what the transaction thread is sent during one shardline
 * burst, with the database as it stood before the burst, so bench/ingest-floor.ts can replay the
 * same transactions alone on one thread and say what SQLite itself costs per event.
 *
 *   <dir>/before.db      an online backup (page for page) taken right before the burst
 *   <dir>/batches.jsonl  one line per batch: { now, fenced, packed }
 *   <dir>/meta.json      { phase, events, batches, rows }
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../../src/core/runtime.ts';
import type { TransactionBatch } from '../../src/core/transaction-worker.ts';
import { interceptRuns } from '../../test/helpers/intercept-transaction-worker.ts';

export class BatchCapture {
  readonly #dir: string;
  #recording = false;
  readonly #batches: TransactionBatch[] = [];

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** The runtime with its transaction threads wrapped: batches sent while recording are kept. */
  wrap(runtime: Runtime): Runtime {
    const workers = runtime.transactionWorkers;
    if (!workers) throw new Error('CAPTURE needs a runtime with transaction threads');
    return {
      ...runtime,
      transactionWorkers: (options) =>
        interceptRuns(workers(options), (batch, next) => {
          if (this.#recording && batch.packed) this.#batches.push(batch);
          return next(batch);
        }),
    };
  }

  /** Backs the database up (the funnel is idle: everything before the burst is committed), then records. */
  async start(databasePath: string): Promise<void> {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(databasePath, { readonly: true });
    try {
      await db.backup(join(this.#dir, 'before.db'));
    } finally {
      db.close();
    }
    this.#recording = true;
  }

  async stop(meta: { phase: string; events: number }): Promise<void> {
    this.#recording = false;
    const out = createWriteStream(join(this.#dir, 'batches.jsonl'));
    let rows = 0;
    for (const batch of this.#batches) {
      if (!out.write(`${JSON.stringify({ now: batch.now, fenced: batch.fenced === true, packed: batch.packed })}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
      rows += batch.packed!.length;
    }
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    writeFileSync(join(this.#dir, 'meta.json'), JSON.stringify({ ...meta, batches: this.#batches.length, values: rows }));
  }
}

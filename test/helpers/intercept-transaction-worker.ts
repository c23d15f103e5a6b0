import type { TransactionBatch, TransactionOutcome, TransactionWorker } from '../../src/core/transaction-worker.ts';

/** `inner` with its batches passed through `run`, which calls `next` to reach the real thread: for tests and benches that watch or hold batches. */
export function interceptRuns(
  inner: TransactionWorker,
  run: (batch: TransactionBatch, next: (batch: TransactionBatch) => Promise<TransactionOutcome>) => Promise<TransactionOutcome>,
): TransactionWorker {
  return {
    get running() {
      return inner.running;
    },
    get heapUsedBytes() {
      return inner.heapUsedBytes;
    },
    close: () => inner.close(),
    run: (batch) => run(batch, (b) => inner.run(b)),
  };
}

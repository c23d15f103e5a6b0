/**
 * Fencing (contract 5), checked on every transaction the primary commits (the soak sees each
 * one on its way into the simulated LiteFS's replication log): a transaction that carries a
 * shard's session writes must never bring that session back behind the seq already committed.
 * Only a stale owner (one whose epoch the primary should have refused) sends those: the shard's
 * new owner resumed from the committed seq and has written past it since. The session row's
 * own SQL ignores a lower seq (defense in depth), so the cache writes that came with it would
 * land unnoticed; this catches them as they commit.
 */
import type { ReplicatedOp } from '../../../src/litefs-sim/replicated-driver.ts';
import { InvariantViolation } from './violation.ts';

const SESSION_UPSERT = /^\s*INSERT INTO shard_sessions\b/i;

export class FenceCheck {
  /** Committed (session, seq) per shard, as the replication log has it (the soak runs one shard set). */
  readonly #committed = new Map<string, { sessionId: string; seq: number }>();
  transactions = 0;

  /** One committed transaction of `node` (the primary), in commit order. */
  committed(node: string, ops: readonly ReplicatedOp[]): void {
    this.transactions += 1;
    const highest = new Map<string, { shardId: number; sessionId: string; seq: number }>();
    for (const op of ops) {
      if (op.kind !== 'run' || !SESSION_UPSERT.test(op.sql) || !Array.isArray(op.params)) continue;
      const [, shardId, sessionId, seq] = op.params as readonly unknown[];
      const key = String(shardId);
      const write = { shardId: Number(shardId), sessionId: String(sessionId), seq: Number(seq) };
      const seen = highest.get(key);
      if (!seen || seen.sessionId !== write.sessionId || write.seq > seen.seq) highest.set(key, write);
    }
    for (const [key, write] of highest) {
      const before = this.#committed.get(key);
      if (before && before.sessionId === write.sessionId && write.seq < before.seq) {
        throw new InvariantViolation(
          'stale write committed',
          `${node} committed writes of shard ${write.shardId}'s session ${write.sessionId} up to seq ${write.seq}, behind the ${before.seq} already committed: an old owner's writes got past the fence`,
        );
      }
      if (!before || before.sessionId !== write.sessionId || write.seq >= before.seq) this.#committed.set(key, { sessionId: write.sessionId, seq: write.seq });
    }
  }
}

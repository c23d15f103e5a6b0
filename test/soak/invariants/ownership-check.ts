/**
 * Fenced ownership (contract 5) as each node's own database shows it, sampled continuously:
 * a shard's assignment epoch never goes down, and within one session the committed seq never
 * goes down (a write from a shard's old owner landing after its new owner's would move it back:
 * that is what the fence refuses). A node whose database was replaced by a snapshot starts over.
 */
import { InvariantViolation } from './violation.ts';

export interface AssignmentSample {
  readonly shardId: number;
  readonly generation: number;
  readonly epoch: number;
  readonly nodeId: string | null;
}

export interface SessionSample {
  readonly shardId: number;
  readonly generation: number;
  readonly sessionId: string;
  readonly seq: number;
}

export class OwnershipCheck {
  readonly #epochs = new Map<string, number>();
  readonly #sessions = new Map<string, { sessionId: string; seq: number }>();
  samples = 0;

  /** `node`'s database was replaced (a snapshot): what it showed before no longer binds it. */
  forget(node: string): void {
    for (const key of [...this.#epochs.keys()]) if (key.startsWith(`${node}/`)) this.#epochs.delete(key);
    for (const key of [...this.#sessions.keys()]) if (key.startsWith(`${node}/`)) this.#sessions.delete(key);
  }

  observe(node: string, assignments: readonly AssignmentSample[], sessions: readonly SessionSample[]): void {
    this.samples += 1;
    for (const row of assignments) {
      const key = `${node}/${row.generation}/${row.shardId}`;
      const before = this.#epochs.get(key);
      if (before !== undefined && row.epoch < before) {
        throw new InvariantViolation('epoch went down', `${node}'s database: shard ${row.shardId} (set ${row.generation}) was at epoch ${before}, now ${row.epoch} (owner ${row.nodeId})`);
      }
      this.#epochs.set(key, row.epoch);
    }
    for (const row of sessions) {
      const key = `${node}/${row.generation}/${row.shardId}`;
      const before = this.#sessions.get(key);
      if (before && before.sessionId === row.sessionId && row.seq < before.seq) {
        throw new InvariantViolation(
          'committed seq went back',
          `${node}'s database: shard ${row.shardId}'s session ${row.sessionId} was committed at seq ${before.seq}, now at ${row.seq} (a stale owner's write got past the fence)`,
        );
      }
      this.#sessions.set(key, { sessionId: row.sessionId, seq: row.seq });
    }
  }
}

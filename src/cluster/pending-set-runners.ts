import { ShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import { groupOf } from '../core/reshard-plan.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import type { RunnerMode, ShardRunner } from '../host/shard-runner.ts';
import type { AssignmentRow } from './cluster-tables.ts';
import type { TakeOverRequest } from './reshard-protocol.ts';

/** How long a new shard whose group switched waits for the primary's take-over command before it takes over alone. */
export const TAKE_OVER_GRACE_MS = 15_000;

export interface PendingSetInputs {
  readonly nodeId: string;
  readonly generation: number;
  readonly shardCount: number;
  /** The active set's count: the switch groups are gcd(old, new). */
  readonly oldShardCount: number;
  readonly createRunner: (shardId: number, epoch: number, mode: RunnerMode) => ShardRunner;
  readonly sessions: () => Map<number, ResumeInfo>;
  readonly logger: Logger;
  readonly onChanged: () => void;
}

/**
 * This node's shards of a reshard's new set (contract 13): started when assigned here, held
 * in shadow until their switch group switches (the primary's take-over command, or, if that
 * never arrives, the switch seen in the replica), and handed to the agent's active runners
 * when the set is promoted.
 */
export class PendingSetRunners {
  readonly generation: number;
  readonly shardCount: number;
  readonly runners = new Map<number, ShardRunner>();
  readonly known = new Map<number, number>();
  readonly #i: PendingSetInputs;
  readonly #log: Logger;
  /** When this node first saw each switched group in its replica. */
  readonly #switchSeen = new Map<number, number>();

  constructor(inputs: PendingSetInputs) {
    this.#i = inputs;
    this.generation = inputs.generation;
    this.shardCount = inputs.shardCount;
    this.#log = inputs.logger.child({ generation: inputs.generation });
  }

  /** Runs exactly the new set's shards assigned here; `switched` are the groups already handed over. */
  reconcile(rows: readonly AssignmentRow[], switched: ReadonlySet<number>, now: number): void {
    let sessions: Map<number, ResumeInfo> | null = null;
    for (const row of rows) {
      if (row.shardId >= this.shardCount) continue;
      const known = this.known.get(row.shardId) ?? -1;
      if (row.epoch < known) continue;
      this.known.set(row.shardId, row.epoch);
      const runner = this.runners.get(row.shardId);
      if (row.nodeId === this.#i.nodeId) {
        if (runner) runner.epoch = row.epoch;
        else {
          sessions ??= this.#i.sessions();
          this.#launch(row.shardId, row.epoch, sessions.get(row.shardId) ?? null);
        }
      } else if (runner && row.epoch > runner.epoch) {
        this.#log.warn({ shardId: row.shardId, epoch: row.epoch, owner: row.nodeId }, 'new-set shard reassigned to another node; stopping it here');
        this.#drop(runner);
      }
    }
    for (const group of switched) if (!this.#switchSeen.has(group)) this.#switchSeen.set(group, now);
    for (const runner of this.runners.values()) {
      if (runner.mode !== 'shadow') continue;
      const seen = this.#switchSeen.get(this.#group(runner.shardId));
      if (seen === undefined || now - seen < TAKE_OVER_GRACE_MS) continue;
      // The primary's command never came (it died mid-switch, or a partition): hand over alone,
      // with at-least-once for ids too, since the old set's handled ids are unknown here.
      this.#log.warn({ shardId: runner.shardId }, 'the switch of this shard\'s group is committed but no take-over came; taking over without the old set\'s handled ids');
      void runner.takeOver({ skipKeys: new Set(), uncovered: false }).catch((error: unknown) => this.#log.error({ err: (error as Error).message, shardId: runner.shardId }, 'take-over failed'));
    }
  }

  start(shardId: number, epoch: number, resume: ResumeInfo | null): void {
    if (shardId >= this.shardCount) throw new ShardlineError('INVALID_INPUT', `Cannot start shard ${shardId} of the new set: it has ${this.shardCount} shards`);
    const known = this.known.get(shardId) ?? -1;
    if (epoch < known) throw new ShardlineError('STALE_EPOCH', `Cannot start new-set shard ${shardId} at epoch ${epoch}: epoch ${known} is already known here`);
    this.known.set(shardId, epoch);
    const runner = this.runners.get(shardId);
    if (runner) {
      runner.epoch = epoch;
      return;
    }
    this.#launch(shardId, epoch, resume);
  }

  async takeOver(request: TakeOverRequest): Promise<void> {
    const runner = this.runners.get(request.shardId);
    if (!runner) throw new ShardlineError('NOT_FOUND', `Cannot take over with new-set shard ${request.shardId}: it does not run on ${this.#i.nodeId}`);
    if (runner.epoch !== request.epoch) throw new ShardlineError('STALE_EPOCH', `Cannot take over with new-set shard ${request.shardId} at epoch ${request.epoch}: it runs here at epoch ${runner.epoch}`);
    await runner.takeOver({ skipKeys: new Set(request.skipKeys), uncovered: request.uncovered });
  }

  fence(shardId: number, epoch: number): void {
    const runner = this.runners.get(shardId);
    if (runner && runner.epoch === epoch) this.#drop(runner);
  }

  /** The reshard was rolled back: its shards close and end their sessions. */
  stopAll(): void {
    for (const runner of this.runners.values()) void runner.shard.close({ endSession: true }).catch(() => {});
    this.runners.clear();
    this.#i.onChanged();
  }

  #group(shardId: number): number {
    return groupOf(shardId, this.#i.oldShardCount, this.shardCount);
  }

  #launch(shardId: number, epoch: number, resume: ResumeInfo | null): void {
    // A shadow commits only its READY (seq 1, a session's first dispatch): resuming from there
    // holds the snapshot again. A later seq was committed by a take-over: that session is live.
    const live = resume !== null && resume.seq > 1;
    const runner = this.#i.createRunner(shardId, epoch, live ? 'live' : 'shadow');
    this.runners.set(shardId, runner);
    this.#i.onChanged();
    this.#log.info({ shardId, epoch, resume: resume ? resume.seq : null, mode: runner.mode }, resume ? 'starting new-set shard by RESUME' : 'starting new-set shard by IDENTIFY');
    runner.start(resume).catch((error: unknown) => this.#log.error({ err: (error as Error).message, shardId }, 'new-set shard failed to start'));
  }

  #drop(runner: ShardRunner): void {
    this.runners.delete(runner.shardId);
    runner.fence();
    this.#i.onChanged();
  }
}

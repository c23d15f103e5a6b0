/**
 * Contract 8's daily ledger, never overspent: the simulator's session starts stay within the
 * daily total minus the reserve the budget keeps, and no shard started more sessions at the
 * simulator than the primary's identify ledger granted it (every IDENTIFY had its slot).
 */
import { InvariantViolation } from './violation.ts';

export interface IdentifyBudgetCheckOptions {
  readonly total: number;
  /** What the primary's budget keeps back (identify-budget.ts: 5% of the total, at most 50). */
  readonly reserve: number;
}

export class IdentifyBudgetCheck {
  readonly #o: IdentifyBudgetCheckOptions;
  maxSpent = 0;

  constructor(options: IdentifyBudgetCheckOptions) {
    this.#o = options;
  }

  /**
   * `identifiesByShard`: the simulator's IDENTIFYs that started a session, read before
   * `grantsByShard`: the identify_ledger rows on the primary's database.
   */
  observe(identifiesByShard: Readonly<Record<number, number>>, grantsByShard: ReadonlyMap<number, number>): void {
    let spent = 0;
    for (const [shard, count] of Object.entries(identifiesByShard)) {
      spent += count;
      const granted = grantsByShard.get(Number(shard)) ?? 0;
      if (count > granted) {
        throw new InvariantViolation('identify without a grant', `shard ${shard} started ${count} sessions at Discord, but the primary's identify ledger granted it ${granted}`);
      }
    }
    this.maxSpent = Math.max(this.maxSpent, spent);
    if (spent > this.#o.total - this.#o.reserve) {
      throw new InvariantViolation('identify budget overspent', `${spent} session starts spent of a daily ${this.#o.total}, past the reserve of ${this.#o.reserve}`);
    }
  }
}

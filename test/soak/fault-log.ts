/**
 * What the soak did, when, to whom: the schedule as it ran (printed when an invariant breaks)
 * and the node disruptions the checkers excuse at-least-once delivery with.
 */
import { describeStep, type Step } from './schedule.ts';

export interface AppliedFault {
  readonly step: Step;
  /** The node or shard the fault hit, or why it was skipped. */
  readonly target: string;
  readonly at: number;
  endedAt: number | null;
  /** What came back (an admin answer, a leave report), filled in when known. */
  outcome: string;
  readonly skipped: boolean;
}

/** Faults after which a node's shards may be failed over (contract 7): a crash, a stall, a cut. */
export type Disruption = 'kill' | 'stall' | 'cutApi' | 'cutLiteFs';

interface DisruptionSpan {
  readonly node: string;
  readonly kind: Disruption;
  readonly from: number;
  to: number;
}

export class FaultLog {
  readonly applied: AppliedFault[] = [];
  readonly #disruptions: DisruptionSpan[] = [];
  readonly #started = Date.now();

  record(step: Step, target: string, options: { skipped?: boolean; at?: number } = {}): AppliedFault {
    const fault: AppliedFault = { step, target, at: options.at ?? Date.now(), endedAt: null, outcome: '', skipped: options.skipped ?? false };
    this.applied.push(fault);
    return fault;
  }

  /** A node disruption starting now and lasting until end() (Infinity until then). */
  disrupt(node: string, kind: Disruption, at = Date.now()): { end(at?: number): void } {
    const span: DisruptionSpan = { node, kind, from: at, to: Number.POSITIVE_INFINITY };
    this.#disruptions.push(span);
    return { end: (when = Date.now()) => void (span.to = when) };
  }

  /** The disruptions of `node` that overlap [from, to]. */
  disruptionsOf(node: string, from: number, to: number): Disruption[] {
    return this.#disruptions.filter((d) => d.node === node && d.from <= to && d.to >= from).map((d) => d.kind);
  }

  /** Any node disruption overlapping [from, to]. */
  anyDisruption(from: number, to: number, kinds?: readonly Disruption[]): boolean {
    return this.#disruptions.some((d) => d.from <= to && d.to >= from && (!kinds || kinds.includes(d.kind)));
  }

  /** Applied (not skipped) fault counts by kind. */
  byKind(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const fault of this.applied) if (!fault.skipped) counts[fault.step.kind] = (counts[fault.step.kind] ?? 0) + 1;
    return counts;
  }

  get appliedCount(): number {
    return this.applied.filter((f) => !f.skipped).length;
  }

  /** The schedule as it ran, one line per fault, times from the start of the run. */
  render(limit = Number.POSITIVE_INFINITY): string {
    return this.applied
      .slice(-limit)
      .map((f) => {
        const at = ((f.at - this.#started) / 1000).toFixed(1);
        const ended = f.endedAt === null ? '' : ` (until ${((f.endedAt - this.#started) / 1000).toFixed(1)}s)`;
        return `  [${at}s] ${describeStep(f.step)} -> ${f.skipped ? 'skipped: ' : ''}${f.target}${ended}${f.outcome ? `: ${f.outcome}` : ''}`;
      })
      .join('\n');
  }
}

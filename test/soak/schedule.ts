/**
 * The soak's schedule: a list of faults drawn from one seed, each with its start time, its
 * target as a role (the primary, the k-th replica, the k-th node, a shard) and how long it lasts.
 * The same seed gives the same schedule; the roles are resolved when a fault starts (which node
 * is primary then depends on the run), and a fault that cannot apply then (no replica is up,
 * say) is skipped and said so.
 */
import { SeededRandom } from '../../src/discord-sim/seeded-random.ts';

export const FAULT_KINDS = [
  'killReplica',
  'killPrimary',
  'leave',
  'takeover',
  'move',
  'drain',
  'cutApi',
  'cutLiteFs',
  'stall',
  'diskSlow',
  'diskFull',
  'op7',
  'op9Resumable',
  'op9Fresh',
  'dropTcp',
  'withholdAcks',
  'closeCode',
  'garbage',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * How often each kind is drawn. Gateway faults are cheap and quick; node faults take seconds,
 * and at most one kill or leave can run at a time (see the runner), so they are drawn less.
 */
const WEIGHTS: Readonly<Record<FaultKind, number>> = {
  killReplica: 4,
  killPrimary: 3,
  leave: 3,
  takeover: 3,
  move: 4,
  drain: 3,
  cutApi: 3,
  cutLiteFs: 3,
  stall: 4,
  diskSlow: 2,
  diskFull: 2,
  op7: 4,
  op9Resumable: 3,
  op9Fresh: 3,
  dropTcp: 4,
  withholdAcks: 3,
  closeCode: 4,
  garbage: 4,
};

/**
 * Close codes the schedule sends: every non-fatal row of the recovery table (resume or
 * identify), the simulator's own, and one unlisted. The fatal ones (4004, 4010-4014) stop a
 * shard for good by design, which no cluster can recover from without an operator.
 */
export const SOAK_CLOSE_CODES = [1000, 1001, 1011, 1012, 4000, 4001, 4002, 4003, 4005, 4007, 4008, 4009, 4999, 3999] as const;

export interface Step {
  /** 1-based position in the schedule. */
  readonly n: number;
  /** Start, in ms after the schedule begins. */
  readonly atMs: number;
  readonly kind: FaultKind;
  /** How long the fault lasts (a kill's downtime, a cut, a stall, a drain); 0 for instant faults. */
  readonly durationMs: number;
  /** A number in [0, 2^31) that picks the target among the candidates of the moment. */
  readonly pick: number;
  /** A second pick (a move's destination, a close code). */
  readonly pick2: number;
}

export interface ScheduleOptions {
  readonly seed: number;
  /** Stop after this many faults... */
  readonly faults?: number;
  /** ...or once the schedule spans this many minutes. */
  readonly minutes?: number;
  /** Mean gap between two fault starts. */
  readonly meanGapMs?: number;
}

function pickKind(random: SeededRandom): FaultKind {
  const total = FAULT_KINDS.reduce((sum, kind) => sum + WEIGHTS[kind], 0);
  let x = random.next() * total;
  for (const kind of FAULT_KINDS) {
    x -= WEIGHTS[kind];
    if (x < 0) return kind;
  }
  return FAULT_KINDS[FAULT_KINDS.length - 1]!;
}

function durationOf(kind: FaultKind, random: SeededRandom): number {
  switch (kind) {
    case 'killReplica':
    case 'killPrimary':
    case 'leave':
      return random.int(1_000, 6_000);
    case 'drain':
      return random.int(2_000, 8_000);
    case 'cutApi':
    case 'cutLiteFs':
      return random.int(500, 6_000);
    case 'stall':
      return random.int(200, 4_000);
    case 'diskSlow':
    case 'diskFull':
      return random.int(500, 4_000);
    case 'withholdAcks':
      return random.int(500, 4_000);
    default:
      return 0;
  }
}

export function generateSchedule(options: ScheduleOptions): Step[] {
  const random = new SeededRandom(options.seed);
  const meanGapMs = options.meanGapMs ?? 1_500;
  const maxFaults = options.faults ?? (options.minutes === undefined ? 60 : Number.POSITIVE_INFINITY);
  const spanMs = options.minutes === undefined ? Number.POSITIVE_INFINITY : options.minutes * 60_000;
  const steps: Step[] = [];
  let at = 0;
  while (steps.length < maxFaults) {
    // Exponential gaps: mostly short, so faults overlap; now and then a quiet stretch.
    at += Math.round(-Math.log(1 - random.next()) * meanGapMs);
    if (at > spanMs) break;
    const kind = pickKind(random);
    steps.push({ n: steps.length + 1, atMs: at, kind, durationMs: durationOf(kind, random), pick: random.int(0, 2 ** 31 - 1), pick2: random.int(0, 2 ** 31 - 1) });
  }
  return steps;
}

export function describeStep(step: Step): string {
  return `#${step.n} +${(step.atMs / 1000).toFixed(1)}s ${step.kind}${step.durationMs > 0 ? ` for ${step.durationMs} ms` : ''}`;
}

/**
 * Resharding as pure policy: which target counts are valid, how the old and the new shard set
 * overlap (and so in which groups handlers can switch), whether the identify budget covers a
 * new set, and when the recommended count asks for one. The Resharder (src/cluster) applies it.
 */

/** Discord's guild cap per session: an IDENTIFY covering more is closed with 4011. */
export const MAX_GUILDS_PER_SHARD = 2_500;
export const MAX_SHARD_COUNT = 65_535;

export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/**
 * Old shards and new shards whose guilds overlap: guild key k is on old shard k mod N and new
 * shard k mod M, and both are k mod g with g = gcd(N, M), so old shard i and new shard j share
 * guilds exactly when i ≡ j (mod g). A group can switch handlers on its own, once all its new
 * shards are ready: with M a multiple of N that is one old shard and its M/N successors (the
 * guild-range switch); with M coprime to N there is one group, a switch of the whole set.
 */
export interface SwitchGroup {
  readonly index: number;
  readonly oldShards: readonly number[];
  readonly newShards: readonly number[];
}

export function switchGroups(from: number, to: number): SwitchGroup[] {
  const g = gcd(from, to);
  return Array.from({ length: g }, (_, index) => ({
    index,
    oldShards: range(from).filter((i) => i % g === index),
    newShards: range(to).filter((j) => j % g === index),
  }));
}

/** The group of a shard of either set (the same residue for both). */
export function groupOf(shardId: number, from: number, to: number): number {
  return shardId % gcd(from, to);
}

export interface TargetInput {
  readonly current: number;
  readonly requested: number | 'auto';
  /** /gateway/bot's `shards` right now; null when Discord could not be asked. */
  readonly recommended: number | null;
  /** Guilds the cache holds: a target must keep every shard under the guild cap. */
  readonly guilds: number;
  /** Large bots must run a multiple of the number Discord gave them; 1 otherwise. */
  readonly shardMultiple: number;
  readonly maxGuildsPerShard?: number;
  /** 'auto' after a 4011: the current count is too small whatever /gateway/bot says. */
  readonly mustGrow?: boolean;
}

export type TargetDecision = { readonly ok: true; readonly target: number } | { readonly ok: false; readonly reason: string };

/** The smallest count that keeps every shard under the guild cap, rounded up to the multiple. */
export function minimumShards(guilds: number, shardMultiple: number, maxGuildsPerShard = MAX_GUILDS_PER_SHARD): number {
  return roundUp(Math.max(1, Math.ceil(guilds / maxGuildsPerShard)), shardMultiple);
}

export function resolveTarget(input: TargetInput): TargetDecision {
  const multiple = Math.max(1, input.shardMultiple);
  const minimum = minimumShards(input.guilds, multiple, input.maxGuildsPerShard);
  let target: number;
  if (input.requested === 'auto') {
    if (input.recommended === null) return { ok: false, reason: "'auto' needs Discord's recommended count and GET /gateway/bot did not answer" };
    target = roundUp(Math.max(input.recommended, minimum), multiple);
    // A 4011 says the current count is too small even when the recommendation has not caught up.
    if (input.mustGrow && target <= input.current) target = roundUp(input.current * 2, multiple);
    if (target <= input.current) {
      return { ok: false, reason: `Discord recommends ${input.recommended} shard${input.recommended === 1 ? '' : 's'} and the bot runs ${input.current} already` };
    }
  } else {
    target = input.requested;
    if (!Number.isInteger(target) || target < 1 || target > MAX_SHARD_COUNT) return { ok: false, reason: `the shard count must be an integer from 1 to ${MAX_SHARD_COUNT}, got ${String(target)}` };
  }
  if (target === input.current) return { ok: false, reason: `the bot already runs ${target} shard${target === 1 ? '' : 's'}` };
  if (target % multiple !== 0) return { ok: false, reason: `Discord requires this bot's shard count to be a multiple of ${multiple} (it would close every IDENTIFY of ${target} shards with 4010)` };
  if (target < minimum) {
    return { ok: false, reason: `${target} shard${target === 1 ? '' : 's'} would hold more than ${input.maxGuildsPerShard ?? MAX_GUILDS_PER_SHARD} guilds each (${input.guilds} guilds cached): Discord would close them with 4011; at least ${minimum} are needed` };
  }
  return { ok: true, target };
}

export interface BudgetInput {
  /** Session starts left today, as Discord last reported them (minus grants since). */
  readonly remaining: number;
  /** Kept back for emergencies (contract 8). */
  readonly reserve: number;
  readonly resetAfterMs: number;
  /** IDENTIFYs the new set needs: one per shard. */
  readonly need: number;
}

/** Why the identify budget cannot pay for a new set, or null when it can. */
export function budgetProblem(input: BudgetInput): string | null {
  const spendable = input.remaining - input.reserve;
  if (spendable >= input.need) return null;
  return `the new set needs ${input.need} IDENTIFYs and Discord allows ${input.remaining} more session starts today with ${input.reserve} kept in reserve (resets in ${formatDuration(input.resetAfterMs)})`;
}

/** The primary's periodic check: reshard once the recommended count reaches `threshold` times the current one. */
export function recommendedCountDue(input: { readonly current: number; readonly recommended: number; readonly threshold: number }): boolean {
  if (!(input.threshold > 0)) return false;
  return input.recommended > input.current && input.recommended >= input.current * input.threshold;
}

function roundUp(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function formatDuration(ms: number): string {
  if (ms >= 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  if (ms >= 60_000) return `${Math.ceil(ms / 60_000)} min`;
  return `${Math.ceil(ms / 1000)} s`;
}

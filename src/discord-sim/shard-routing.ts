/**
 * Discord's sharding rules as the simulator applies them: the recommended count GET
 * /gateway/bot answers (recomputed from the world's guilds on every call, never cached), the
 * large-bot multiple that IDENTIFY enforces with 4010, and the per-session guild cap that it
 * enforces with 4011.
 */

export interface ShardRules {
  /** The lowest count /gateway/bot recommends (the sim's `shards` option). */
  readonly floor: number;
  /** One recommended shard per this many guilds ("~1 per 1,000" is what libraries assume). */
  readonly guildsPerShard: number;
  /** Large bots must run a multiple of this number (Discord names it); 1 for everyone else. */
  readonly shardMultiple: number;
  /** Guilds one session may hold; an IDENTIFY that would cover more is closed with 4011. */
  readonly maxGuildsPerShard: number;
}

export const DEFAULT_SHARD_RULES: ShardRules = { floor: 1, guildsPerShard: 1000, shardMultiple: 1, maxGuildsPerShard: 2500 };

/** What /gateway/bot's `shards` says for a world of `guilds` guilds: always a valid count for the bot. */
export function recommendedShardCount(guilds: number, rules: ShardRules): number {
  const byGuilds = Math.max(Math.ceil(guilds / rules.guildsPerShard), Math.ceil(guilds / rules.maxGuildsPerShard));
  const count = Math.max(1, rules.floor, byGuilds);
  return Math.ceil(count / rules.shardMultiple) * rules.shardMultiple;
}

/** The close an IDENTIFY of `[shardId, shardCount]` covering `guilds` guilds earns, or null when Discord accepts it. */
export function identifyRefusal(shardId: number, shardCount: number, guilds: number, rules: ShardRules): { code: number; reason: string } | null {
  if (!Number.isInteger(shardId) || !Number.isInteger(shardCount) || shardCount < 1 || shardId < 0 || shardId >= shardCount) {
    return { code: 4010, reason: 'Invalid shard' };
  }
  if (shardCount % rules.shardMultiple !== 0) return { code: 4010, reason: `Invalid shard: the shard count must be a multiple of ${rules.shardMultiple}` };
  if (guilds > rules.maxGuildsPerShard) return { code: 4011, reason: 'Sharding required' };
  return null;
}

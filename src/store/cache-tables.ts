import type { CacheTable, Mutation } from '../core/mutation.ts';

/** The options of `BotDefinition.cache` and the table each one turns off; the bot module check lists the same. */
export const CACHE_OPTION_TABLES = { presences: 'presences', voiceStates: 'voice_states' } as const satisfies Record<string, CacheTable>;

/** The cache tables a bot turned off (`BotDefinition.cache`); empty by default. */
export function skippedTables(cache: { readonly [K in keyof typeof CACHE_OPTION_TABLES]?: boolean } | undefined): ReadonlySet<CacheTable> {
  const skipped = new Set<CacheTable>();
  for (const [option, table] of Object.entries(CACHE_OPTION_TABLES)) {
    if (cache?.[option as keyof typeof CACHE_OPTION_TABLES] === false) skipped.add(table);
  }
  return skipped;
}

/**
 * The mutations without the rows of skipped tables. A replacement list's delete stays, and
 * spares nothing: a GUILD_CREATE then clears rows written before the table was turned off.
 * The same array when nothing is skipped, so the default path allocates nothing.
 */
export function withoutTables(mutations: Mutation[], skipped: ReadonlySet<CacheTable>): Mutation[] {
  if (skipped.size === 0 || mutations.length === 0) return mutations;
  const kept: Mutation[] = [];
  for (const m of mutations) {
    if (!('table' in m) || !skipped.has(m.table)) kept.push(m);
    else if (m.op === 'deleteGuildRows') kept.push({ op: 'deleteGuildRows', table: m.table, guildId: m.guildId });
  }
  return kept;
}

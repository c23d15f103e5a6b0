import type { CacheTable, Mutation } from '../core/mutation.ts';

/** The cache tables a bot turned off (`BotDefinition.cache`); empty by default. */
export function skippedTables(cache: { readonly presences?: boolean; readonly voiceStates?: boolean } | undefined): ReadonlySet<CacheTable> {
  const skipped = new Set<CacheTable>();
  if (cache?.presences === false) skipped.add('presences');
  if (cache?.voiceStates === false) skipped.add('voice_states');
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

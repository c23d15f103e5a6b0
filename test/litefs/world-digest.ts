import type { WorldView } from '../../src/discord-sim/fake-discord.ts';

/**
 * One row that sums up a node's cache: row counts of every cache table and each guild's member
 * count. `worldDigest()` computes the same row from the simulated world, so a node whose SQL
 * answers it equals the world (test/host/cache-equals-world.test.ts compares field by field;
 * over HTTP on real LiteFS the digest is what fits in a query's limits).
 */
export const WORLD_DIGEST_SQL = `select
  (select count(*) from guilds),
  (select count(*) from members),
  (select count(*) from channels),
  (select count(*) from roles),
  (select count(*) from emojis),
  (select count(*) from voice_states),
  (select count(*) from presences where status is not 'offline'),
  (select group_concat(id || ':' || member_count, ',') from (select id, member_count from guilds order by id))`;

export function worldDigest(world: WorldView): unknown[] {
  const guilds = [...world.guilds.values()];
  const sum = (count: (g: (typeof guilds)[number]) => number): number => guilds.reduce((n, g) => n + count(g), 0);
  return [
    guilds.length,
    sum((g) => g.members.size),
    sum((g) => g.channels.size + g.threads.size),
    sum((g) => g.roles.size),
    sum((g) => g.emojis.size),
    sum((g) => g.voiceStates.size),
    sum((g) => [...g.presences.values()].filter((p) => p.status !== 'offline').length),
    guilds.map((g) => g.id).sort().map((id) => `${id}:${world.guilds.get(id)!.members.size}`).join(','),
  ];
}

/** The cache queries a bot or an operator typically runs, with parameters picked from the world. */

/** One of the cache queries the SQL benches time (bench/sql-latency.ts, bench/cluster-capacity.ts). */
export interface CacheQuery {
  name: string;
  sql: string;
  params: (pick: () => { guildId: string; userId: string; roleId: string }) => unknown[];
}

export const QUERIES: CacheQuery[] = [
  { name: 'one member by key', sql: 'select nick, joined_at from members where guild_id = ? and user_id = ?', params: (p) => { const x = p(); return [x.guildId, x.userId]; } },
  { name: 'members with a role (json_each)', sql: 'select count(*) from members, json_each(members.roles) r where members.guild_id = ? and r.value = ?', params: (p) => { const x = p(); return [x.guildId, x.roleId]; } },
  { name: 'a guild joined to users', sql: 'select u.username, m.nick from members m join users u on u.id = m.user_id where m.guild_id = ? order by u.username limit 50', params: (p) => [p().guildId] },
  { name: 'online count per guild, top 10', sql: "select guild_id, count(*) n from presences where status = 'online' group by guild_id order by n desc limit 10", params: () => [] },
];


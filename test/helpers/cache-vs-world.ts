/**
 * The simulated world as the cache should hold it, the cache as SQL reads it, and their
 * differences named row by row and column by column. `onlyGuilds` leaves out rows of other
 * guilds (a fuzz test's own guilds, which the world does not know).
 */
import { expect } from 'vitest';
import type { WorldView } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';

export type Row = Record<string, unknown>;

/** What the comparison reads through: a Host, or any read-only connection wrapped alike (the soak's). */
export type CacheReader = Pick<Host, 'query'>;

export function rows(host: CacheReader, sql: string): Row[] {
  const result = host.query(sql, [], { maxRows: 100_000 });
  expect(result.truncated).toBe(false);
  return result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c, row[i]])));
}

export function byKey(list: Row[], key: (row: Row) => string): Map<string, Row> {
  return new Map(list.map((row) => [key(row), row]));
}

/** The world as the cache should hold it, in the cache's column shapes. */
export function expectedFromWorld(world: WorldView): Record<string, Map<string, Row>> {
  const guilds = new Map<string, Row>();
  const channels = new Map<string, Row>();
  const roles = new Map<string, Row>();
  const members = new Map<string, Row>();
  const emojis = new Map<string, Row>();
  const voiceStates = new Map<string, Row>();
  const presences = new Map<string, Row>();
  for (const wg of world.guilds.values()) {
    guilds.set(wg.id, { name: wg.guild.name, owner_id: wg.guild.owner_id, member_count: wg.members.size, description: wg.guild.description, unavailable: 0 });
    for (const c of wg.channels.values()) {
      channels.set(c.id, { guild_id: wg.id, name: c.name, type: c.type, parent_id: c.parent_id ?? null, position: c.position, is_thread: 0, topic: 'topic' in c ? (c.topic ?? null) : null });
    }
    for (const t of wg.threads.values()) {
      channels.set(t.id, { guild_id: wg.id, name: t.name, type: t.type, parent_id: t.parent_id ?? null, position: null, is_thread: 1, topic: null });
    }
    for (const r of wg.roles.values()) {
      roles.set(r.id, { guild_id: wg.id, name: r.name, position: r.position, permissions: r.permissions, color: r.color, hoist: r.hoist ? 1 : 0 });
    }
    for (const [userId, m] of wg.members) {
      members.set(`${wg.id}/${userId}`, { nick: m.nick ?? null, roles: JSON.stringify([...m.roles].sort()), joined_at: m.joined_at });
    }
    for (const e of wg.emojis.values()) emojis.set(e.id!, { guild_id: wg.id, name: e.name });
    for (const [userId, v] of wg.voiceStates) voiceStates.set(`${wg.id}/${userId}`, { channel_id: v.channel_id, self_mute: v.self_mute ? 1 : 0 });
    // Absent presence means offline (Discord does not announce a new member's offline presence).
    for (const [userId, p] of wg.presences) if (p.status !== 'offline') presences.set(`${wg.id}/${userId}`, { status: p.status });
  }
  return { guilds, channels, roles, members, emojis, voiceStates, presences };
}

export function cacheState(host: CacheReader, onlyGuilds?: ReadonlySet<string>): Record<string, Map<string, Row>> {
  const kept = (sql: string, guildColumn = 'guild_id'): Row[] => rows(host, sql).filter((r) => !onlyGuilds || onlyGuilds.has(String(r[guildColumn])));
  const memberRows = kept('SELECT guild_id, user_id, nick, roles, joined_at FROM members').map((r) => ({
    ...r,
    roles: JSON.stringify((JSON.parse(String(r['roles'])) as string[]).sort()),
  }));
  return {
    guilds: byKey(kept("SELECT id, name, owner_id, member_count, json_extract(raw, '$.description') AS description, unavailable FROM guilds", 'id'), (r) => String(r['id'])),
    channels: byKey(kept("SELECT id, guild_id, name, type, parent_id, position, is_thread, json_extract(raw, '$.topic') AS topic FROM channels"), (r) => String(r['id'])),
    roles: byKey(kept("SELECT id, guild_id, name, position, permissions, color, json_extract(raw, '$.hoist') AS hoist FROM roles"), (r) => String(r['id'])),
    members: byKey(memberRows, (r) => `${String(r['guild_id'])}/${String(r['user_id'])}`),
    emojis: byKey(kept('SELECT id, guild_id, name FROM emojis'), (r) => String(r['id'])),
    voiceStates: byKey(kept("SELECT guild_id, user_id, channel_id, json_extract(raw, '$.self_mute') AS self_mute FROM voice_states"), (r) => `${String(r['guild_id'])}/${String(r['user_id'])}`),
    presences: byKey(kept("SELECT guild_id, user_id, status FROM presences WHERE status IS NOT 'offline'"), (r) => `${String(r['guild_id'])}/${String(r['user_id'])}`),
  };
}

/** Field-by-field differences, named, so a failure says which row and which column. */
export function differences(expected: Map<string, Row>, actual: Map<string, Row>): string[] {
  const out: string[] = [];
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (!got) {
      out.push(`${key}: missing from the cache`);
      continue;
    }
    for (const [field, value] of Object.entries(want)) {
      if (got[field] !== value) out.push(`${key}.${field}: world ${JSON.stringify(value)}, cache ${JSON.stringify(got[field])}`);
    }
  }
  for (const key of actual.keys()) if (!expected.has(key)) out.push(`${key}: in the cache but not in the world`);
  return out;
}

/** Every difference between the world and the cache of `host`, counts first; empty when they agree. */
export function cacheVsWorld(host: CacheReader, world: WorldView): string[] {
  const want = expectedFromWorld(world);
  const got = cacheState(host);
  const out: string[] = [];
  for (const table of Object.keys(want)) {
    if (want[table]!.size !== got[table]!.size) out.push(`${table}: world ${want[table]!.size} rows, cache ${got[table]!.size}`);
    out.push(...differences(want[table]!, got[table]!).map((d) => `${table} ${d}`));
  }
  return out;
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CACHE_TABLES } from '../../src/core/mutation.ts';
import type { Mutation, WriteEntry } from '../../src/core/mutation.ts';
import type { SqliteDriver } from '../../src/core/sqlite.ts';
import { buildGuildCreate } from '../../src/discord-sim/guild-payloads.ts';
import { TimerRegistry } from '../../src/discord-sim/timer-registry.ts';
import { Traffic } from '../../src/discord-sim/traffic.ts';
import { generateWorld } from '../../src/discord-sim/world-generator.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { applyBatch } from '../../src/store/apply-batch.ts';
import { dispatchMutations } from '../../src/store/dispatch-mutations.ts';
import { runMigrations } from '../../src/store/migrate.ts';
import { MutationApplier } from '../../src/store/mutation-applier.ts';
import { openDatabase } from '../../src/store/open-database.ts';
import { packEntries, packedList } from '../../src/store/packed-entries.ts';

const SHARDS = 2;

/** The simulator's stream for a small world: every GUILD_CREATE, then mixed traffic, as write entries. */
function simulatedEntries(): WriteEntry[] {
  const world = generateWorld({ seed: 5, guilds: 12, membersPerGuild: 20 });
  const dispatches: { shard: number; t: string; d: unknown }[] = [];
  for (const wg of world.guilds.values()) dispatches.push({ shard: wg.shardKey % SHARDS, t: 'GUILD_CREATE', d: buildGuildCreate(world, wg.id, 0x7fff, 250) });
  const traffic = new Traffic(
    world,
    {
      toGuild: (guildId, t, data) => dispatches.push({ shard: world.guilds.get(guildId)!.shardKey % SHARDS, t, d: JSON.parse(JSON.stringify(data)) }),
      global: (t, data) => dispatches.push({ shard: 0, t, d: JSON.parse(JSON.stringify(data)) }),
    },
    new TimerRegistry(),
  );
  traffic.setMix({ MESSAGE_CREATE: 1, PRESENCE_UPDATE: 4, GUILD_MEMBER_ADD: 2, GUILD_MEMBER_UPDATE: 2, GUILD_MEMBER_REMOVE: 2, CHANNEL_CREATE: 1, CHANNEL_UPDATE: 1, CHANNEL_DELETE: 1, THREAD_CREATE: 1, THREAD_UPDATE: 1, THREAD_DELETE: 1, GUILD_ROLE_CREATE: 1, GUILD_ROLE_UPDATE: 1, GUILD_ROLE_DELETE: 1, GUILD_UPDATE: 1, GUILD_EMOJIS_UPDATE: 1, VOICE_STATE_UPDATE: 2, USER_UPDATE: 1 });
  traffic.emit(3000);
  const seqs = [0, 0];
  return dispatches.map(({ shard, t, d }) => ({
    shardId: shard,
    epoch: 1,
    mutations: dispatchMutations({ t, d }, shard, SHARDS),
    session: { sessionId: `s${shard}`, seq: ++seqs[shard]!, resumeGatewayUrl: 'wss://gw.example', shardCount: SHARDS },
  }));
}

/** Every op the packed form has, including the rare ones the simulator's traffic does not make. */
function rareEntries(guildId: string, otherGuildId: string): WriteEntry[] {
  const m = (mutations: Mutation[], seq: number): WriteEntry => ({ shardId: 0, epoch: 1, mutations, session: { sessionId: 's0', seq, resumeGatewayUrl: 'wss://gw.example', shardCount: SHARDS } });
  return [
    m([{ op: 'markGuildUnavailable', guildId }], 100_001),
    m([{ op: 'deleteThreads', guildId }, { op: 'deleteGuildRows', table: 'emojis', guildId }], 100_002),
    m([{ op: 'deleteGuild', guildId: otherGuildId }], 100_003),
    { shardId: 1, epoch: 1, mutations: [{ op: 'clearShard', shardId: 1, shardCount: SHARDS }] },
    m([{ op: 'upsert', table: 'guilds', row: { id: '99', shardId: 0, name: null, ownerId: null, memberCount: null, unavailable: true, joinedAt: null, raw: '{}' } }], 100_004),
  ];
}

describe('packed write entries: what the thread funnel sends to its transaction thread', () => {
  let dir: string;
  const dbs: SqliteDriver[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-packed-'));
  });

  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function database(name: string): Promise<{ db: SqliteDriver; applier: MutationApplier }> {
    const db = openDatabase({ path: join(dir, `${name}.db`), driverFactory: betterSqlite3Driver });
    dbs.push(db);
    await runMigrations(db);
    return { db, applier: new MutationApplier(db) };
  }

  const dump = (db: SqliteDriver): Record<string, unknown[][]> =>
    Object.fromEntries([...CACHE_TABLES, 'shard_sessions'].map((t) => [t, db.prepare(`SELECT * FROM ${t} ORDER BY 1, 2`).values()]));

  it('commits exactly what the entries commit, batch by batch, for every op', async () => {
    const entries = simulatedEntries();
    const guildIds = [...new Set(entries.flatMap((e) => e.mutations.flatMap((m) => (m.op === 'upsert' && m.table === 'guilds' ? [m.row.id] : []))))];
    entries.push(...rareEntries(guildIds[0]!, guildIds[1]!));
    const kinds = new Set(entries.flatMap((e) => e.mutations.map((m) => `${m.op}${m.op === 'upsert' && m.merge ? '+merge' : ''}`)));
    expect([...kinds].sort()).toEqual(['clearShard', 'countMember', 'delete', 'deleteGuild', 'deleteGuildRows', 'deleteThreads', 'markGuildUnavailable', 'upsert', 'upsert+merge']);

    const objects = await database('objects');
    const packed = await database('packed');
    const now = 1_700_000_000_000;
    for (let i = 0; i < entries.length; i += 250) {
      const batch = entries.slice(i, i + 250);
      const a = applyBatch(objects.db, objects.applier, batch, now);
      // Through the structured clone a worker's postMessage makes.
      const b = applyBatch(packed.db, packed.applier, packedList(structuredClone(packEntries(batch))), now);
      expect(b).toEqual(a);
    }
    const want = dump(objects.db);
    expect(want['members']!.length).toBeGreaterThan(100);
    expect(want['shard_sessions']!.length).toBe(SHARDS);
    expect(dump(packed.db)).toEqual(want);
  });

  it('keeps the fence and the one-by-one retry: stale entries skipped, a refused entry dropped alone', async () => {
    const { db, applier } = await database('fence');
    db.exec("INSERT INTO shard_assignments (shard_id, node_id, epoch, state, updated_at) VALUES (1, 'n', 7, 'running', 0)");
    const user = (id: string, raw: unknown = '{}'): Mutation => ({ op: 'upsert', table: 'users', row: { id, username: null, globalName: null, bot: null, avatar: null, raw: raw as string } });
    const session = (shard: number, seq: number): WriteEntry['session'] => ({ sessionId: `s${shard}`, seq, resumeGatewayUrl: 'wss://x', shardCount: SHARDS });
    const batch: WriteEntry[] = [
      { shardId: 0, epoch: 1, mutations: [user('1')], session: session(0, 1) },
      { shardId: 1, epoch: 6, mutations: [user('2')], session: session(1, 1) },
      // NOT NULL raw: SQLite refuses the row, so the batch retries entry by entry.
      { shardId: 0, epoch: 1, mutations: [user('3', null)], session: session(0, 2) },
      { shardId: 1, epoch: 7, mutations: [user('4')], session: session(1, 2) },
    ];
    const outcome = applyBatch(db, applier, packedList(structuredClone(packEntries(batch))), 1, { fenced: true });
    expect(outcome.stale).toEqual([1]);
    expect(outcome.dropped.map((d) => d.index)).toEqual([2]);
    expect(db.prepare('SELECT id FROM users ORDER BY id').values()).toEqual([['1'], ['4']]);
    expect(db.prepare('SELECT shard_id, seq FROM shard_sessions ORDER BY shard_id').values()).toEqual([[0, 1], [1, 2]]);
  });
});

import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { byKey, cacheState, differences, expectedFromWorld, rows, type Row } from '../helpers/cache-vs-world.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { handledBy, recordingBot, tempDir, testHost, type Recorded } from '../helpers/test-host.ts';

const SHARDS = 3;
const CHUNK = 250;
const TOTAL_EVENTS = 6000;

describe('cache equals the simulated world after a long stream with a reconnect and a restart', () => {
  let discord: FakeDiscord;
  let dataDir: string;
  const hosts: Host[] = [];

  beforeEach(async () => {
    discord = new FakeDiscord({
      shards: SHARDS,
      maxConcurrency: SHARDS,
      identifySpacingMs: 10,
      heartbeatIntervalMs: 500,
      reconnectGraceMs: 200,
      world: { seed: 42, guilds: 40, membersPerGuild: 30 },
    });
    await discord.start();
    dataDir = tempDir();
  });

  afterEach(async () => {
    for (const host of hosts.splice(0)) await host.close();
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (recorded: Recorded[]): Promise<Host> => {
    const host = testHost(discord, { dataDir, bot: recordingBot(undefined, recorded) });
    hosts.push(host);
    await host.start();
    await waitFor(() => host.readiness().ready, { timeoutMs: 20_000, message: 'every shard ready' });
    return host;
  };

  const sequenced = (): number => {
    let n = 0;
    for (let shardId = 0; shardId < SHARDS; shardId++) n += discord.ledger.eventCount(shardId);
    return n;
  };

  /** Every sequenced dispatch handled, and its cache rows and seq committed. */
  const settled = async (host: Host, recorded: Recorded[]): Promise<void> => {
    await waitFor(() => recorded.length >= sequenced(), { timeoutMs: 30_000, message: `bot handled every dispatch (${recorded.length}/${sequenced()})` });
    await waitFor(
      () => {
        const sessions = new Map(rows(host, 'SELECT shard_id, session_id, seq FROM shard_sessions').map((r) => [Number(r['shard_id']), r]));
        for (let shardId = 0; shardId < SHARDS; shardId++) {
          const last = discord.ledger.events(shardId).at(-1);
          const row = sessions.get(shardId);
          if (!last || !row || row['session_id'] !== last.sessionId || Number(row['seq']) !== last.seq) return false;
        }
        return host.status().funnel?.queuedEntries === 0;
      },
      { timeoutMs: 30_000, message: 'every seq committed' },
    );
  };

  it(`streams ${TOTAL_EVENTS} mixed events over ${SHARDS} shards; SQL over the cache matches the world row by row`, { timeout: 180_000 }, async () => {
    const recorded: Recorded[] = [];
    let host = await start(recorded);
    const identifiesAtStart = discord.stats.identifies;
    expect(identifiesAtStart).toBe(SHARDS);

    let emitted = 0;
    const emit = (n: number): void => {
      for (let done = 0; done < n; done += CHUNK) emitted += discord.traffic.emit(Math.min(CHUNK, n - done));
    };

    emit(1500);
    // A forced reconnect (op 7) on one shard and a resumable close on another, mid-stream.
    expect(discord.faults.reconnect(1)).toBe(1);
    expect(discord.faults.close(2, 4000, 'sim: unknown error')).toBe(1);
    emit(1000);
    await waitFor(() => host.status().shards.filter((s) => s.shardId !== 0).every((s) => s.resumes >= 1 && s.status === 'ready'), {
      timeoutMs: 20_000,
      message: 'shards 1 and 2 resumed',
    });
    emit(1000);

    // A host restart mid-stream: events keep coming while no host runs.
    await host.close();
    hosts.splice(hosts.indexOf(host), 1);
    emit(500);
    host = await start(recorded);
    expect(host.status().shards.every((s) => s.resumes === 1 && s.identifies === 0)).toBe(true);
    emit(TOTAL_EVENTS - emitted);

    await settled(host, recorded);
    expect(emitted).toBe(TOTAL_EVENTS);
    expect(discord.stats.identifies).toBe(identifiesAtStart);
    for (let shardId = 0; shardId < SHARDS; shardId++) {
      const check = discord.ledger.check(shardId, handledBy(recorded, shardId));
      expect(check.lost).toEqual([]);
      expect(check.duplicated).toEqual([]);
      expect(check.delivered).toBe(discord.ledger.eventCount(shardId));
    }

    // Counts first (cheap to read in a failure), then every row field by field.
    const world = discord.world;
    const want = expectedFromWorld(world);
    const got = cacheState(host);
    const counts = (state: Record<string, Map<string, Row>>): Record<string, number> => Object.fromEntries(Object.entries(state).map(([k, v]) => [k, v.size]));
    expect(counts(got)).toEqual(counts(want));
    expect(want['voiceStates']!.size).toBeGreaterThan(0);
    expect([...want['channels']!.values()].filter((c) => c['is_thread'] === 1).length).toBeGreaterThan(0);
    for (const table of Object.keys(want)) expect(differences(want[table]!, got[table]!), table).toEqual([]);

    // Users are shared and outlive memberships: every member's user is cached as the world has it,
    // and nothing cached is unknown to the world.
    const users = byKey(rows(host, 'SELECT id, username, global_name, bot FROM users'), (r) => String(r['id']));
    const memberUserIds = new Set([...world.guilds.values()].flatMap((g) => [...g.members.keys()]));
    for (const userId of memberUserIds) {
      const user = world.users.get(userId)!;
      expect(users.get(userId), `user ${userId}`).toEqual({ id: userId, username: user.username, global_name: user.global_name ?? null, bot: user.bot ? 1 : 0 });
    }
    for (const userId of users.keys()) expect(world.users.has(userId), `cached user ${userId} exists in the world`).toBe(true);
    expect(users.size).toBeGreaterThanOrEqual(memberUserIds.size);
  });
});

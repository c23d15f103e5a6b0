import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { BotContext } from '../../src/bot.ts';
import type { Host } from '../../src/host.ts';
import { captureLogger } from '../helpers/log-sink.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { handledBy, recordingBot, tempDir, testHost, type Recorded } from '../helpers/test-host.ts';

describe('single-node host against the simulator', () => {
  let discord: FakeDiscord;
  let dataDir: string;
  const hosts: Host[] = [];

  beforeEach(async () => {
    discord = new FakeDiscord({ shards: 2, maxConcurrency: 2, identifySpacingMs: 10, heartbeatIntervalMs: 500, world: { seed: 3, guilds: 12, membersPerGuild: 15 } });
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
    return host;
  };

  it('caches every guild of every shard and answers SQL', async () => {
    const host = await start([]);
    expect(host.shardCount).toBe(2);
    await waitFor(() => Number(host.query('select count(*) from guilds').rows[0]![0]) === discord.world.guilds.size, { message: 'all guilds cached' });
    const members = [...discord.world.guilds.values()].reduce((n, g) => n + g.members.size, 0);
    await waitFor(() => Number(host.query('select count(*) from members').rows[0]![0]) === members, { message: 'all members cached' });
    const { rows } = host.query('select count(*) from users');
    expect(Number(rows[0]![0])).toBe(new Set([...discord.world.guilds.values()].flatMap((g) => [...g.members.keys()])).size);
  });

  it('leaves the tables a bot turned off empty, while their events still reach its handlers', async () => {
    const recorded: Recorded[] = [];
    const host = testHost(discord, { dataDir, bot: { ...recordingBot(undefined, recorded), cache: { presences: false, voiceStates: false } } });
    hosts.push(host);
    await host.start();
    const members = [...discord.world.guilds.values()].reduce((n, g) => n + g.members.size, 0);
    await waitFor(() => Number(host.query('select count(*) from members').rows[0]![0]) === members, { message: 'members cached' });
    discord.traffic.setMix({ PRESENCE_UPDATE: 1, VOICE_STATE_UPDATE: 1, GUILD_MEMBER_UPDATE: 1 });
    discord.traffic.emit(300);
    await waitFor(() => recorded.filter((r) => r.t === 'PRESENCE_UPDATE').length > 50 && recorded.filter((r) => r.t === 'VOICE_STATE_UPDATE').length > 50, { message: 'presence and voice events handled' });
    // Each shard's seq is committed with the rows of the events up to it: once it caught up, so did the tables.
    await waitFor(() => host.status().shards.every((shard) => shard.seq !== null && Number(host.query('select seq from shard_sessions where shard_id = ?', [shard.shardId]).rows[0]?.[0]) === shard.seq), { message: 'every handled seq committed' });
    // The same world with the tables on fills them (the test above); here they stay empty.
    expect(Number(host.query('select count(*) from presences').rows[0]![0])).toBe(0);
    expect(Number(host.query('select count(*) from voice_states').rows[0]![0])).toBe(0);
    expect(Number(host.query('select count(*) from members').rows[0]![0])).toBe(members);
  });

  it("delivers Discord's RATE_LIMITED for a repeated all-members request to the bot and logs it", async () => {
    const log = captureLogger('info');
    const seen: unknown[] = [];
    let context: BotContext | null = null;
    const bot = { ...recordingBot(), handlers: { RATE_LIMITED: (d: unknown) => void seen.push(d) }, shardReady: (_info: unknown, ctx: BotContext) => void (context = ctx) };
    const host = testHost(discord, { dataDir, bot, logger: log.logger });
    hosts.push(host);
    await host.start();
    const ctx = await waitFor(() => context);
    const guildId = await waitFor(() => host.query('select id from guilds where shard_id = ? limit 1', [ctx.shardId]).rows[0]?.[0] as string | undefined);
    await ctx.send({ op: 8, d: { guild_id: guildId, query: '', limit: 0, nonce: 'a' } });
    await ctx.send({ op: 8, d: { guild_id: guildId, query: '', limit: 0, nonce: 'b' } });
    await waitFor(() => seen.length === 1, { message: 'RATE_LIMITED handled' });
    expect(seen[0]).toMatchObject({ opcode: 8, meta: { guild_id: guildId, nonce: 'b' } });
    expect(log.lines()).toContainEqual(expect.objectContaining({ level: 40, opcode: 8, meta: { guild_id: guildId, nonce: 'b' }, msg: expect.stringMatching(/rate-limited a gateway request/) }));
  });

  it('writes each key once per log line (node, component), whether or not the root logger names the node', async () => {
    for (const base of [{ node: 'node-1' }, undefined]) {
      const log = captureLogger('info', base);
      const host = testHost(discord, { dataDir, bot: recordingBot(), logger: log.logger });
      hosts.push(host);
      await host.start();
      await host.close();
      const lines = log.text().split('\n').filter((line) => line.length > 0);
      // Nested components (host > primary > coordinator) and this node's own name are the ones that used to repeat.
      expect(lines.some((line) => line.includes('"component":"coordinator"')), JSON.stringify(base)).toBe(true);
      for (const line of lines) {
        const keys = topLevelKeys(line);
        expect(keys.filter((k, i) => keys.indexOf(k) !== i), line).toEqual([]);
        expect(keys, line).toContain('node');
      }
    }
  });

  it('notices a bot handler that blocks the event loop, in its status and as a warning', async () => {
    const log = captureLogger('info');
    let blocked = false;
    const bot = {
      ...recordingBot(),
      onDispatch(event: { t: string }) {
        if (blocked || event.t !== 'MESSAGE_CREATE') return;
        blocked = true;
        const until = Date.now() + 1_200;
        while (Date.now() < until) {
          // A handler doing synchronous work.
        }
      },
    };
    const host = testHost(discord, { dataDir, bot, logger: log.logger });
    hosts.push(host);
    await host.start();
    // A busy machine can stall the loop on its own (while starting, say): counted from here.
    const before = host.status().eventLoop.stalls;
    discord.traffic.emit(100);
    // The handler held the loop for 1200 ms; the monitor's timer is due every 100 ms.
    await waitFor(() => blocked && host.status().eventLoop.stalls > before && host.status().eventLoop.maxStallMs >= 1_100, {
      message: () => `the handler's stall was counted; eventLoop ${JSON.stringify(host.status().eventLoop)}`,
    });
    const warnings = log.lines().filter((l) => l['component'] === 'event-loop' && l['level'] === 40);
    // On a busy machine the handler's thread gets only part of the CPU, and the warning says so.
    expect(warnings.map((l) => String(l['msg']))).toContainEqual(expect.stringMatching(/^event loop was blocked for \d{4,} ms[:,].*no shard read its socket or sent a heartbeat meanwhile/));
  });

  it('restarts by resuming every shard: no IDENTIFY, nothing lost, nothing twice', async () => {
    const recorded: Recorded[] = [];
    const first = await start(recorded);
    await waitFor(() => first.readiness().ready);
    discord.traffic.emit(300);
    await waitFor(() => recorded.length >= discord.ledger.events(0).length + discord.ledger.events(1).length, { message: 'first host caught up' });
    // What SIGTERM runs: the embedded node has nobody to leave to, so it stops as close() does.
    expect(await first.leave()).toMatchObject({ outcome: 'embedded', shards: 2, leftover: 2, primaryHandoffMs: null });
    expect(first.status().node.state).toBe('closed');
    hosts.splice(hosts.indexOf(first), 1);
    const identifies = discord.stats.identifies;

    // Events keep coming while no host runs: the sessions buffer them for RESUME.
    discord.traffic.emit(200);
    const second = await start(recorded);
    await waitFor(() => second.readiness().ready);
    discord.traffic.emit(100);
    const expected = (): number => discord.ledger.events(0).length + discord.ledger.events(1).length;
    await waitFor(() => recorded.length >= expected(), { message: 'second host caught up' });

    expect(discord.stats.identifies).toBe(identifies);
    expect(discord.stats.resumes).toBeGreaterThanOrEqual(2);
    for (const shardId of [0, 1]) {
      const check = discord.ledger.check(shardId, handledBy(recorded, shardId));
      expect(check.lost).toEqual([]);
      expect(check.duplicated).toEqual([]);
      expect(check.delivered).toBeGreaterThan(0);
    }
  });
});

/** The keys of a JSON object line in order, duplicates kept (JSON.parse would keep only the last). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && line[j + 1] === ':') keys.push(line.slice(i + 1, j));
      i = j;
    } else if (c === '{' || c === '[') depth += 1;
    else if (c === '}' || c === ']') depth -= 1;
  }
  return keys;
}

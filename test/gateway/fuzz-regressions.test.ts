/**
 * Bugs the gateway input fuzz (gateway-fuzz.test.ts) found, each replayed on its own and
 * named after what broke.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { OWN_CLOSE_CODES } from '../../src/core/close-codes.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { handledBy, recordingBot, tempDir, testHost, type Recorded } from '../helpers/test-host.ts';
import { Harness } from './harness.ts';

describe('gateway fuzz regressions (shard)', () => {
  let h: Harness;
  afterEach(async () => {
    await h.close();
  });

  /** A ready shard with traffic handled; returns its session id and the close codes it sees. */
  async function readyShard(): Promise<{ s: ReturnType<Harness['shard']>; sessionId: string; closes: number[] }> {
    h = await new Harness().start();
    const s = h.shard();
    const closes: number[] = [];
    s.shard.on('closed', (e) => closes.push(e.code));
    await s.shard.start();
    h.discord.traffic.emit(20);
    const sessionId = s.shard.resumeInfo()!.sessionId;
    await waitFor(() => s.shard.resumeInfo()!.seq === h.lastSeq(0, sessionId));
    return { s, sessionId, closes };
  }

  /** After the injected frame: closed as a bad frame, resumed the same session, nothing lost or repeated, no IDENTIFY. */
  async function resumedWhole(t: Awaited<ReturnType<typeof readyShard>>): Promise<void> {
    await waitFor(() => t.closes.includes(OWN_CLOSE_CODES.badFrame), { message: 'closed as a bad frame' });
    await waitFor(() => h.discord.stats.resumes === 1 && t.s.shard.status === 'ready', { message: 'resumed' });
    h.discord.traffic.emit(20);
    await waitFor(() => t.s.shard.resumeInfo()!.seq === h.lastSeq(0, t.sessionId));
    expect(t.s.shard.resumeInfo()).toMatchObject({ sessionId: t.sessionId, resumeGatewayUrl: expect.stringMatching(/\/resume$/) });
    expect(h.discord.ledger.check(0, t.s.handled)).toMatchObject({ lost: [], duplicated: [], outOfOrder: 0 });
    expect(h.discord.stats.identifies).toBe(1);
  }

  it('regression: a second READY on a live socket replaced the session (its id, seq 0, its resume URL), so the next resume failed and events were lost', async () => {
    const t = await readyShard();
    const ready = { v: 10, user: { id: '90', username: 'x', discriminator: '0', global_name: null, avatar: null }, guilds: [], session_id: 'not-this-session', resume_gateway_url: 'ws://127.0.0.1:1', application: { id: '1', flags: 0 } };
    expect(h.discord.faults.sendFrame(0, JSON.stringify({ op: 0, t: 'READY', s: null, d: ready }))).toBe(1);
    await resumedWhole(t);
    expect(h.log.text()).toContain('a second READY on one socket');
  });

  it('regression: a dispatch whose seq jumped ahead moved the shard past every real event after it, which were then skipped as already handled', async () => {
    const t = await readyShard();
    const seq = t.s.shard.resumeInfo()!.seq;
    expect(h.discord.faults.sendFrame(0, JSON.stringify({ op: 0, t: 'TYPING_START', s: seq + 1000, d: {} }))).toBe(1);
    await resumedWhole(t);
    expect(h.log.text()).toContain(`seq jumped from ${seq} to ${seq + 1000}`);
  });
});

describe('gateway fuzz regressions (host)', () => {
  let discord: FakeDiscord | null = null;
  let host: Host | null = null;
  let dataDir = '';
  afterEach(async () => {
    await host?.close();
    await discord?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("regression: a RATE_LIMITED whose d is not an object threw before the bot's handlers ran, so the bot never saw that event", async () => {
    discord = new FakeDiscord({ shards: 1, identifySpacingMs: 10, world: { seed: 3, guilds: 2, membersPerGuild: 3 } });
    await discord.start();
    dataDir = tempDir();
    const recorded: Recorded[] = [];
    const seen: unknown[] = [];
    host = testHost(discord, { dataDir, bot: { ...recordingBot(undefined, recorded), handlers: { RATE_LIMITED: (d) => void seen.push(d) } } });
    await host.start();
    for (const d of [null, 7, 'x', []]) discord.dispatchGlobal('RATE_LIMITED', d);
    await waitFor(() => seen.length === 4, { message: 'every RATE_LIMITED reached its handler' });
    expect(seen).toEqual([null, 7, 'x', []]);
    expect(discord.ledger.check(0, handledBy(recorded, 0))).toMatchObject({ lost: [], duplicated: [] });
  });
});

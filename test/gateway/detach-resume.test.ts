import { afterEach, describe, expect, it } from 'vitest';
import { OWN_CLOSE_CODES } from '../../src/core/close-codes.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Harness } from './harness.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
});

describe('detach on one Shard, resume on another: nothing lost, nothing twice', () => {
  it('hands a live session over under traffic without loss, duplication or a new IDENTIFY', async () => {
    h = await new Harness({ world: { guilds: 12, membersPerGuild: 20 } }).start();
    let n = 0;
    // An async handler every few events, so detach really meets a handler in flight.
    const a = h.shard({ handler: () => (++n % 7 === 0 ? new Promise((r) => setTimeout(r, 2)) : undefined) });
    await a.shard.start();
    h.discord.traffic.start({ eventsPerSecond: 400 });
    await waitFor(() => a.handled.length > 150, { timeoutMs: 20_000 });

    const closedCodes: number[] = [];
    a.shard.on('closed', (e) => closedCodes.push(e.code));
    const info = await a.shard.detach();
    const identifies = h.discord.stats.identifies;
    const handledByA = a.handled.length;
    expect(a.shard.status).toBe('detached');
    expect(closedCodes).toEqual([OWN_CLOSE_CODES.detach]);
    expect(info.seq).toBe(a.handled.at(-1)!.seq);
    expect(a.shard.pendingTimers).toBe(0);

    const b = h.shard();
    await b.shard.start({ resume: info });
    expect(b.names).toContain('RESUMED');
    await waitFor(() => b.handled.length > 150, { timeoutMs: 20_000 });
    h.discord.traffic.stop();
    await waitFor(() => b.shard.resumeInfo()!.seq === h.lastSeq(0, info.sessionId), { timeoutMs: 20_000, message: 'B caught up' });

    expect(a.handled.length).toBe(handledByA);
    expect(b.handled[0]!.seq).toBe(info.seq + 1);
    const check = h.discord.ledger.check(0, a.handled.concat(b.handled));
    expect(check.lost).toEqual([]);
    expect(check.duplicated).toEqual([]);
    expect(check.outOfOrder).toBe(0);
    expect(check.expected).toBe(a.handled.length + b.handled.length);
    expect(h.discord.stats.identifies).toBe(identifies);
  });

  it('a resume after a resumable server close replays what the shard missed, exactly once', async () => {
    h = await new Harness().start();
    const s = h.shard();
    await s.shard.start();
    const sessionId = s.shard.resumeInfo()!.sessionId;
    h.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => s.handled.length > 50);
    h.discord.faults.close(0, 4000, 'test');
    // Events keep being sequenced while the shard is away; the RESUME replays them.
    await waitFor(() => h.discord.stats.resumes === 1 && s.shard.status === 'ready');
    await waitFor(() => s.handled.length > 200);
    h.discord.traffic.stop();
    await waitFor(() => s.shard.resumeInfo()!.seq === h.lastSeq(0, sessionId));
    const check = h.discord.ledger.check(0, s.handled);
    expect(check).toMatchObject({ lost: [], duplicated: [], outOfOrder: 0 });
    expect(h.discord.stats.identifies).toBe(1);
  });

  it('zombie: with ACKs withheld the shard closes with the zombie code and resumes', async () => {
    h = await new Harness().start();
    const s = h.shard();
    const closes: number[] = [];
    s.shard.on('closed', (e) => closes.push(e.code));
    await s.shard.start();
    const sessionId = s.shard.resumeInfo()!.sessionId;
    h.discord.faults.withholdAcks(0, true);
    await waitFor(() => closes.includes(OWN_CLOSE_CODES.zombie), { message: 'zombie close' });
    h.discord.faults.withholdAcks(0, false);
    await waitFor(() => h.discord.stats.resumes >= 1 && s.shard.status === 'ready');
    expect(s.shard.resumeInfo()!.sessionId).toBe(sessionId);
    expect(h.discord.stats.identifies).toBe(1);
  });

  it('dropped TCP (no close frame) resumes the same session with nothing lost', async () => {
    h = await new Harness().start();
    const s = h.shard();
    await s.shard.start();
    const sessionId = s.shard.resumeInfo()!.sessionId;
    h.discord.traffic.start({ eventsPerSecond: 300 });
    await waitFor(() => s.handled.length > 50);
    expect(h.discord.faults.dropTcp(0)).toBe(1);
    await waitFor(() => h.discord.stats.resumes === 1 && s.shard.status === 'ready');
    h.discord.traffic.stop();
    await waitFor(() => s.shard.resumeInfo()!.seq === h.lastSeq(0, sessionId));
    expect(h.discord.ledger.check(0, s.handled)).toMatchObject({ lost: [], duplicated: [], outOfOrder: 0 });
  });
});

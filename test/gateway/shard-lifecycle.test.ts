import { afterEach, describe, expect, it } from 'vitest';
import { OWN_CLOSE_CODES } from '../../src/core/close-codes.ts';
import type { GatewaySocket, GatewayTransport } from '../../src/core/ports.ts';
import { createWsTransport } from '../../src/runtime/ws-transport.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Harness } from './harness.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
});

describe('Shard lifecycle against the simulator', () => {
  it('requests zlib-stream by default and handles READY + GUILD_CREATE through it', async () => {
    h = await new Harness().start();
    const s = h.shard();
    const readies: string[] = [];
    s.shard.on('shardReady', (e) => readies.push(`${e.sessionId}:${e.resumed}`));
    await s.shard.start();
    expect(h.discord.connections(0)).toEqual([expect.objectContaining({ open: true, compress: 'zlib-stream' })]);
    await waitFor(() => s.names.filter((t) => t === 'GUILD_CREATE').length === 8);
    expect(s.names[0]).toBe('READY');
    expect(readies).toEqual([`${s.shard.resumeInfo()!.sessionId}:false`]);
    expect(h.discord.stats.identifies).toBe(1);
  });

  it('works without compression too', async () => {
    h = await new Harness().start();
    const s = h.shard({ compress: false });
    await s.shard.start();
    expect(h.discord.connections(0)[0]!.compress).toBeNull();
    await waitFor(() => s.names.filter((t) => t === 'GUILD_CREATE').length === 8);
  });

  it('op 7 (also before HELLO) makes it reconnect and resume the same session', async () => {
    h = await new Harness().start();
    const s = h.shard();
    const closes: number[] = [];
    s.shard.on('closed', (e) => closes.push(e.code));
    await s.shard.start();
    const sessionId = s.shard.resumeInfo()!.sessionId;
    h.discord.faults.reconnect(0);
    await waitFor(() => h.discord.stats.resumes === 1 && s.shard.status === 'ready');
    // Now op 7 on the current socket and op 7 instead of HELLO on the next one.
    h.discord.faults.reconnect(0, { beforeHello: true });
    await waitFor(() => h.discord.stats.resumes === 2 && s.shard.status === 'ready');
    expect(closes.filter((c) => c === OWN_CLOSE_CODES.reconnect).length).toBeGreaterThanOrEqual(3);
    expect(s.shard.resumeInfo()!.sessionId).toBe(sessionId);
    expect(h.discord.stats.identifies).toBe(1);
  });

  it('op 9 true resumes; op 9 false re-identifies after the jittered wait', async () => {
    h = await new Harness().start();
    const s = h.shard();
    await s.shard.start();
    const first = s.shard.resumeInfo()!.sessionId;
    h.discord.faults.invalidSession(0, true);
    await waitFor(() => h.discord.stats.resumes === 1 && s.shard.status === 'ready');
    expect(s.shard.resumeInfo()!.sessionId).toBe(first);
    h.discord.faults.invalidSession(0, false);
    await waitFor(() => h.discord.stats.identifies === 2 && s.shard.status === 'ready');
    expect(s.shard.resumeInfo()!.sessionId).not.toBe(first);
  });

  it('close() leaves no socket and no timer, keeps the session resumable, and another shard resumes it', async () => {
    h = await new Harness().start();
    const s = h.shard();
    await s.shard.start();
    await s.shard.close();
    expect(s.shard.status).toBe('stopped');
    expect(s.shard.pendingTimers).toBe(0);
    await waitFor(() => h.discord.connections(0).every((c) => !c.open));
    const info = s.shard.resumeInfo();
    expect(info).not.toBeNull();
    const next = h.shard();
    await next.shard.start({ resume: info! });
    expect(h.discord.stats.resumes).toBe(1);
    expect(h.discord.stats.identifies).toBe(1);
    expect(next.shard.resumeInfo()!.sessionId).toBe(info!.sessionId);
  });

  it('close({ endSession: true }) ends the session; resuming it then falls back to IDENTIFY', async () => {
    h = await new Harness().start();
    const s = h.shard();
    await s.shard.start();
    const info = s.shard.resumeInfo()!;
    await s.shard.close({ endSession: true });
    expect(s.shard.resumeInfo()).toBeNull();
    expect(s.shard.pendingTimers).toBe(0);
    const next = h.shard();
    await next.shard.start({ resume: info });
    expect(h.discord.stats.invalidSessions).toBeGreaterThanOrEqual(1);
    expect(h.discord.stats.identifies).toBe(2);
    expect(next.shard.resumeInfo()!.sessionId).not.toBe(info.sessionId);
  });

  it('caps failed resume attempts, then identifies through the cached gateway URL', async () => {
    h = await new Harness().start();
    const s = h.shard({ maxResumeAttempts: 2 });
    // A resume URL nobody listens on: every resume attempt fails to connect.
    const bogus = { shardId: 0, shardCount: 1, sessionId: 'gone', seq: 5, resumeGatewayUrl: 'ws://127.0.0.1:9' };
    await s.shard.start({ resume: bogus });
    expect(h.discord.stats.identifies).toBe(1);
    expect(h.discord.stats.resumes).toBe(0);
    expect(h.log.text()).toContain('Giving up resuming after repeated failures');
  });

  it('start({ signal }) is cancellable while waiting for the identify slot', async () => {
    h = await new Harness().start();
    const s = h.shard({ identifyThrottler: { waitForIdentify: (_id, signal) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))) } });
    const controller = new AbortController();
    const started = s.shard.start({ signal: controller.signal });
    await waitFor(() => s.shard.status === 'identifying');
    controller.abort(new Error('operator gave up'));
    await expect(started).rejects.toThrow('operator gave up');
    await waitFor(() => s.shard.status === 'stopped');
    expect(s.shard.pendingTimers).toBe(0);
    await waitFor(() => h.discord.connections(0).every((c) => !c.open));
  });

  it('pauses reading above maxPendingFrames and resumes below half, losing nothing', async () => {
    h = await new Harness().start();
    const calls: string[] = [];
    const inner = createWsTransport();
    const spying: GatewayTransport = {
      async connect(url, handlers, signal) {
        const socket = await inner.connect(url, handlers, signal);
        const wrapped: GatewaySocket = {
          send: (d) => socket.send(d),
          close: (c, r) => socket.close(c, r),
          terminate: () => socket.terminate(),
          pause: () => {
            calls.push('pause');
            socket.pause();
          },
          resume: () => {
            calls.push('resume');
            socket.resume();
          },
        };
        return wrapped;
      },
    };
    let release!: () => void;
    let gate: Promise<void> | null = new Promise((r) => (release = r));
    const s = h.shard({ transport: spying, maxPendingFrames: 50, handler: (ctx) => (ctx.seq !== null && ctx.seq > 20 && gate ? gate : undefined) });
    await s.shard.start();
    const sessionId = s.shard.resumeInfo()!.sessionId;
    h.discord.traffic.emit(500);
    await waitFor(() => calls.includes('pause'));
    expect(s.handled.length).toBeLessThanOrEqual(21);
    gate = null;
    release();
    await waitFor(() => calls.includes('resume'));
    await waitFor(() => s.shard.resumeInfo()!.seq === h.lastSeq(0, sessionId));
    expect(h.discord.ledger.check(0, s.handled)).toMatchObject({ lost: [], duplicated: [], outOfOrder: 0 });
  });

  it('send() goes through the limiter: op 8 reaches Discord, over-budget sends queue and are abortable', async () => {
    h = await new Harness().start();
    const s = h.shard({ sendLimit: { limit: 16, normalLimit: 10, windowMs: 60_000 } });
    const closes: number[] = [];
    s.shard.on('closed', (e) => closes.push(e.code));
    await s.shard.start();
    const guildId = [...h.discord.world.guilds.keys()][0]!;
    await s.shard.send({ op: 8, d: { guild_id: guildId, query: '', limit: 0 } });
    await waitFor(() => s.names.includes('GUILD_MEMBERS_CHUNK'));
    // IDENTIFY and heartbeats count against the window too, so send until one has to wait.
    const presence = { op: 3 as const, d: { since: null, activities: [], status: 'online' as never, afk: false } };
    const controller = new AbortController();
    let sent = 1;
    let waiting: Promise<void> | null = null;
    for (let i = 0; i < 20 && !waiting; i++) {
      const attempt = s.shard.send(presence, { signal: controller.signal });
      const outcome = await Promise.race([attempt.then(() => 'sent'), new Promise((r) => setImmediate(() => r('waiting')))]);
      if (outcome === 'sent') sent++;
      else waiting = attempt;
    }
    expect(waiting).not.toBeNull();
    expect(sent).toBeLessThanOrEqual(10);
    controller.abort(new Error('no longer needed'));
    await expect(waiting).rejects.toThrow('no longer needed');
    expect(s.shard.status).toBe('ready');
    expect(closes).toEqual([]);
    await expect(
      s.shard.send({ op: 3, d: { since: null, activities: [{ name: 'é'.repeat(2100), type: 0 }], status: 'online' as never, afk: false } }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_REJECTED' });
    await s.shard.close();
    expect(s.shard.pendingTimers).toBe(0);
  });
});

import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { OWN_CLOSE_CODES } from '../core/close-codes.ts';
import { memoryTransport } from '../../test/gateway/memory-transport.ts';
import type { MemoryConnection } from '../../test/gateway/memory-transport.ts';
import { waitFor } from '../../test/helpers/wait-for.ts';
import { Shard } from './shard.ts';
import type { DispatchHandler, ShardOptions } from './shard-options.ts';

const READY = (sessionId: string) => ({
  v: 10,
  user: { id: '1', username: 'bot', discriminator: '0', global_name: null, avatar: null },
  guilds: [],
  session_id: sessionId,
  resume_gateway_url: 'ws://resume.test',
  application: { id: '1', flags: 0 },
});

const shards: Shard[] = [];
afterEach(async () => {
  await Promise.all(shards.splice(0).map((s) => s.close()));
});

function setup(onDispatch: DispatchHandler = () => {}, extra: Partial<ShardOptions> = {}) {
  const mem = memoryTransport();
  const shard = new Shard({
    shardId: 0,
    shardCount: 1,
    token: 'fake-token',
    intents: 513,
    gatewayUrl: 'ws://gateway.test',
    transport: mem.transport,
    identifyThrottler: { waitForIdentify: async () => {} },
    onDispatch,
    compress: false,
    backoffBaseMs: 5,
    invalidSessionDelayMs: { min: 1, max: 5 },
    ...extra,
  });
  shards.push(shard);
  const conn = (i: number): Promise<MemoryConnection> => waitFor(() => mem.connections[i]);
  return { shard, mem, conn };
}

async function identified(setupResult: ReturnType<typeof setup>, sessionId = 'sess-1'): Promise<MemoryConnection> {
  const started = setupResult.shard.start();
  const c = await setupResult.conn(0);
  c.hello();
  await waitFor(() => c.ops().includes(2));
  c.dispatch('READY', 1, READY(sessionId));
  await started;
  return c;
}

describe('Shard (in-memory transport)', () => {
  it('identifies on the cached gateway URL with v=10&encoding=json and reports resume info', async () => {
    const seen: { t: string; seq: number | null; sessionId: string }[] = [];
    const s = setup((p, ctx) => void seen.push({ t: p.t, seq: ctx.seq, sessionId: ctx.sessionId }));
    const c = await identified(s);
    expect(c.url).toBe('ws://gateway.test/?v=10&encoding=json');
    const identify = c.sent.find((p) => p.op === 2)!.d as Record<string, unknown>;
    expect(identify).toMatchObject({ token: 'fake-token', intents: 513, shard: [0, 1] });
    expect(s.shard.status).toBe('ready');
    expect(seen).toEqual([{ t: 'READY', seq: 1, sessionId: 'sess-1' }]);
    expect(s.shard.resumeInfo()).toEqual({ shardId: 0, shardCount: 1, sessionId: 'sess-1', seq: 1, resumeGatewayUrl: 'ws://resume.test' });
  });

  it('advances seq only after an async handler finished, and delivers one at a time', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    const s = setup(async (p: GatewayDispatchPayload, ctx) => {
      order.push(`start ${ctx.seq}`);
      if (ctx.seq === 2) await gate;
      order.push(`end ${ctx.seq}`);
    });
    const c = await identified(s);
    c.dispatch('MESSAGE_CREATE', 2, {});
    c.dispatch('MESSAGE_CREATE', 3, {});
    await waitFor(() => order.includes('start 2'));
    expect(s.shard.resumeInfo()!.seq).toBe(1);
    expect(order).not.toContain('start 3');
    release();
    await waitFor(() => s.shard.resumeInfo()!.seq === 3);
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('detach waits for the in-flight handler, drops the rest, closes with the detach code', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const handled: number[] = [];
    const s = setup(async (_p, ctx) => {
      if (ctx.seq === 2) await gate;
      handled.push(ctx.seq!);
    });
    const c = await identified(s);
    c.dispatch('MESSAGE_CREATE', 2, {});
    c.dispatch('MESSAGE_CREATE', 3, {});
    await waitFor(() => handled.length === 1);
    const detaching = s.shard.detach();
    await waitFor(() => c.closedWith !== null);
    expect(c.closedWith).toBe(OWN_CLOSE_CODES.detach);
    release();
    const info = await detaching;
    expect(handled).toEqual([1, 2]);
    expect(info).toMatchObject({ sessionId: 'sess-1', seq: 2 });
    expect(s.shard.status).toBe('detached');
    expect(s.shard.pendingTimers).toBe(0);
  });

  it('op 7 before HELLO closes resumably and resumes through resume_gateway_url with the handled seq', async () => {
    const s = setup();
    const c0 = await identified(s);
    c0.dispatch('GUILD_CREATE', 2, { id: '1' });
    await waitFor(() => s.shard.resumeInfo()!.seq === 2);
    c0.serverClose(4000);
    const c1 = await s.conn(1);
    expect(c1.url).toBe('ws://resume.test/?v=10&encoding=json');
    c1.frame({ op: 7, d: null });
    await waitFor(() => c1.closedWith === OWN_CLOSE_CODES.reconnect);
    const c2 = await s.conn(2);
    c2.hello();
    await waitFor(() => c2.ops().includes(6));
    expect(c2.sent.find((p) => p.op === 6)!.d).toEqual({ token: 'fake-token', session_id: 'sess-1', seq: 2 });
    c2.dispatch('RESUMED', null, {});
    await waitFor(() => s.shard.status === 'ready');
  });

  it('gives up resuming after maxResumeAttempts failed attempts and identifies on the gateway URL', async () => {
    const s = setup(() => {}, { maxResumeAttempts: 2 });
    const c0 = await identified(s);
    c0.serverClose(1006);
    s.mem.refuse.next = 2;
    const c1 = await s.conn(1);
    expect(c1.url).toBe('ws://gateway.test/?v=10&encoding=json');
    c1.hello();
    await waitFor(() => c1.ops().includes(2));
    expect(s.shard.resumeInfo()).toBeNull();
  });

  it('send() refuses payloads over 4096 bytes and shard-owned ops', async () => {
    const s = setup();
    await identified(s);
    await expect(
      s.shard.send({ op: 3, d: { since: null, activities: [{ name: 'x'.repeat(5000), type: 0 }], status: 'online' as never, afk: false } }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_REJECTED' });
    await expect(s.shard.send({ op: 2 } as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('heartbeats carry the last seq, and a server op 1 is answered at once', async () => {
    const s = setup(() => {}, { random: () => 0 });
    const started = s.shard.start();
    const c = await s.conn(0);
    c.hello(60_000);
    // random() = 0: the first heartbeat goes out right after HELLO, with d = null.
    await waitFor(() => c.sent.some((p) => p.op === 1));
    expect(c.sent.find((p) => p.op === 1)!.d).toBeNull();
    await waitFor(() => c.ops().includes(2));
    c.dispatch('READY', 1, READY('sess-hb'));
    await started;
    c.frame({ op: 11, d: null });
    c.dispatch('GUILD_CREATE', 2, { id: '1' });
    c.frame({ op: 1, d: null });
    const beats = c.sent.filter((p) => p.op === 1);
    expect(beats).toHaveLength(2);
    expect(beats[1]!.d).toBe(2);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { FakeDiscordOptions } from '../../src/discord-sim/fake-discord.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { SimClient, identifiedClient } from './sim-client.ts';

describe('faults on demand', () => {
  let discord: FakeDiscord | undefined;
  const clients: SimClient[] = [];

  async function sim(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    discord = new FakeDiscord({ heartbeatIntervalMs: 400, identifySpacingMs: 0, world: { guilds: 2 }, ...options });
    await discord.start();
    return discord;
  }

  async function client(): Promise<SimClient> {
    const { client: c } = await identifiedClient(discord!.gatewayUrl);
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await discord?.close();
    discord = undefined;
  });

  it('sends op 7, and closes a lingering connection after the grace period', async () => {
    await sim({ reconnectGraceMs: 50 });
    const c = await client();
    expect(discord!.faults.reconnect(0)).toBe(1);
    expect((await c.next((p) => p.op === 7)).d).toBeNull();
    expect(await c.closed()).toBe(4000);
  });

  it('sends op 7 instead of HELLO to the next new connection when asked', async () => {
    await sim();
    const c = await client();
    discord!.faults.reconnect(0, { beforeHello: true });
    await c.next((p) => p.op === 7);
    const next = await SimClient.connect(`${discord!.gatewayUrl}/?v=10&encoding=json`);
    clients.push(next);
    expect((await next.next()).op).toBe(7);
    expect(next.received.some((p) => p.op === 10)).toBe(false);
    const after = await SimClient.connect(`${discord!.gatewayUrl}/?v=10&encoding=json`);
    clients.push(after);
    expect((await after.next()).op).toBe(10);
  });

  it('sends op 9 true and keeps the session resumable', async () => {
    await sim();
    const c = await client();
    discord!.faults.invalidSession(0, true);
    expect((await c.next((p) => p.op === 9)).d).toBe(true);
    const sessionId = c.dispatches()[0]!.d.session_id as string;
    c.send(6, { token: 'fake-token', session_id: sessionId, seq: 1 });
    await c.next((p) => p.t === 'RESUMED');
  });

  it('closes with any code', async () => {
    await sim();
    const c = await client();
    discord!.faults.close(0, 4321, 'test');
    expect(await c.closed()).toBe(4321);
    expect(() => discord!.faults.close(0, 1005)).toThrow(/1005/);
  });

  it('withholds heartbeat ACKs for a shard until switched off', async () => {
    await sim();
    const c = await client();
    discord!.faults.withholdAcks(0, true);
    c.send(1, 3);
    c.send(3, { since: null, activities: [], status: 'online', afk: false });
    // A payload after the heartbeat proves the heartbeat was processed without an ACK.
    discord!.traffic.emit(1);
    await waitFor(() => c.dispatches().length > 3);
    expect(c.received.some((p) => p.op === 11)).toBe(false);
    discord!.faults.withholdAcks(0, false);
    c.send(1, 3);
    await c.next((p) => p.op === 11);
  });

  it('drops the TCP connection without a close frame', async () => {
    await sim();
    const c = await client();
    expect(discord!.faults.dropTcp(0)).toBe(1);
    expect(await c.closed()).toBe(1006);
  });

  it('delays READY', async () => {
    await sim();
    discord!.faults.delayReady(300);
    const c = await SimClient.connect(`${discord!.gatewayUrl}/?v=10&encoding=json`);
    clients.push(c);
    await c.next((p) => p.op === 10);
    c.identify('fake-token', [0, 1], 1);
    c.send(1, null);
    await c.next((p) => p.op === 11);
    expect(c.dispatches()).toHaveLength(0);
    await c.next((p) => p.t === 'READY');
  });

  it('sends raw frames', async () => {
    await sim();
    const c = await client();
    expect(discord!.faults.sendRaw(0, '{"op": 0, "garbage')).toBe(1);
    await waitFor(() => c.texts.at(-1) === '{"op": 0, "garbage');
    discord!.faults.sendRaw(0, new Uint8Array([1, 2, 3]));
    await waitFor(() => c.binaryFrames.length === 1);
    expect([...c.binaryFrames[0]!]).toEqual([1, 2, 3]);
  });

  it('takes faults over the HTTP control route', async () => {
    await sim();
    const c = await client();
    const base = discord!.restUrl.replace(/\/api$/, '');
    const post = (path: string, body: unknown): Promise<Response> =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post('/_sim/faults', { shardId: 0, fault: 'explode' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_INPUT');
    const ok = await post('/_sim/faults', { shardId: 0, fault: 'close', code: 4123 });
    expect(await ok.json()).toEqual({ ok: true, connections: 1 });
    expect(await c.closed()).toBe(4123);
    const emitted = await post('/_sim/traffic', { emit: 5 });
    expect(await emitted.json()).toEqual({ emitted: 5 });
    const ledger = (await (await fetch(`${base}/_sim/ledger/0`)).json()) as { events: unknown[] };
    expect(ledger.events.length).toBe(discord!.ledger.events(0).length);
    const stats = (await (await fetch(`${base}/_sim/stats`)).json()) as { identifies: number };
    expect(stats.identifies).toBe(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { SimClient } from './sim-client.ts';

describe('smoke', () => {
  let discord: FakeDiscord | undefined;
  const clients: SimClient[] = [];
  afterEach(async () => {
    for (const c of clients) c.terminate();
    await discord?.close();
  });

  it('identifies, gets READY and GUILD_CREATE, resumes', async () => {
    discord = new FakeDiscord({ heartbeatIntervalMs: 300, shards: 2, maxConcurrency: 2, identifySpacingMs: 0, world: { guilds: 6 } });
    await discord.start();
    const c = await SimClient.connect(`${discord.gatewayUrl}/?v=10&encoding=json&compress=zlib-stream`);
    clients.push(c);
    const hello = await c.next((p) => p.op === 10);
    expect(hello.d.heartbeat_interval).toBe(300);
    c.identify('fake-token', [0, 2], 513);
    const ready = await c.next((p) => p.t === 'READY');
    expect(ready.s).toBe(1);
    expect(ready.d.guilds.length).toBe(3);
    await c.next((p) => p.s === 4);
    discord.traffic.emit(50);
    c.close(4900);
    await c.closed();
    discord.traffic.emit(50);
    const last = discord.ledger.events(0).at(-1)!.seq;
    const r = await SimClient.connect(`${ready.d.resume_gateway_url}?v=10&encoding=json`);
    clients.push(r);
    r.send(6, { token: 'fake-token', session_id: ready.d.session_id, seq: 4 });
    await r.next((p) => p.t === 'RESUMED');
    const seqs = r.dispatches().filter((p) => p.s !== null).map((p) => p.s);
    expect(seqs).toEqual(Array.from({ length: last - 4 }, (_, i) => i + 5));
  });
});

import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { SimClient, identifiedClient } from './sim-client.ts';

describe('FakeDiscord lifecycle', () => {
  it('close() drops every socket, stops the server and leaves no timer behind', async () => {
    const discord = new FakeDiscord({ heartbeatIntervalMs: 300, identifySpacingMs: 0, world: { guilds: 2 } });
    await discord.start();
    const gatewayUrl = discord.gatewayUrl;
    const restUrl = discord.restUrl;
    const { client } = await identifiedClient(gatewayUrl);
    discord.traffic.start({ eventsPerSecond: 200 });
    discord.faults.delayReady(60_000);
    const waiting = await SimClient.connect(`${gatewayUrl}/?v=10&encoding=json`);
    await waiting.next((p) => p.op === 10);
    waiting.identify('fake-token', [0, 1], 1);
    await waitFor(() => discord.stats.identifies === 2);
    // Traffic, two heartbeat watchdogs and the delayed READY.
    expect(discord.activeTimers).toBe(4);

    await discord.close();
    expect(discord.activeTimers).toBe(0);
    expect(discord.traffic.running).toBe(false);
    expect(await client.closed()).toBe(1006);
    expect(await waiting.closed()).toBe(1006);
    expect(waiting.dispatches()).toHaveLength(0);
    expect(discord.connections().every((c) => !c.open)).toBe(true);
    await expect(fetch(`${restUrl}/v10/gateway`)).rejects.toThrow();
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`${gatewayUrl}/?v=10&encoding=json`);
        ws.on('open', () => resolve(ws));
        ws.on('error', reject);
      }),
    ).rejects.toThrow();
    // close() is idempotent and the sim cannot be restarted.
    await discord.close();
    await expect(discord.start()).rejects.toThrow(/closed/);
  });

  it('refuses bad options with INVALID_CONFIG', () => {
    expect(() => new FakeDiscord({ shards: 0 })).toThrow(/shards/);
    expect(() => new FakeDiscord({ world: { guilds: -1 } })).toThrow(/guilds/);
    expect(() => new FakeDiscord({ heartbeatIntervalMs: 1.5 })).toThrow(/heartbeatIntervalMs/);
  });

  it('reports a port already in use as a clear error', async () => {
    const first = new FakeDiscord();
    await first.start();
    const second = new FakeDiscord({ port: first.port });
    await expect(second.start()).rejects.toThrow(/Cannot start FakeDiscord/);
    await second.close();
    await first.close();
  });
});

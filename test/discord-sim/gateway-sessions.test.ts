import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord, SIM_CLOSE_CODES } from '../../src/discord-sim/fake-discord.ts';
import type { FakeDiscordOptions } from '../../src/discord-sim/fake-discord.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { SimClient, identifiedClient, resumingClient } from './sim-client.ts';
import type { Payload } from './sim-client.ts';

describe('sessions: resume, replay, close semantics', () => {
  let discord: FakeDiscord | undefined;
  const clients: SimClient[] = [];

  async function sim(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    discord = new FakeDiscord({ heartbeatIntervalMs: 400, identifySpacingMs: 0, world: { seed: 3, guilds: 3, membersPerGuild: 4 }, ...options });
    await discord.start();
    return discord;
  }

  async function session(): Promise<{ client: SimClient; ready: Payload; lastSeq: number }> {
    const { client, ready } = await identifiedClient(discord!.gatewayUrl);
    clients.push(client);
    // READY plus one GUILD_CREATE per guild.
    const lastSeq = 1 + discord!.world.guilds.size;
    await client.next((p) => p.s === lastSeq);
    return { client, ready, lastSeq };
  }

  async function resume(ready: Payload, seq: number): Promise<SimClient> {
    const client = await resumingClient(ready.d.resume_gateway_url, ready.d.session_id, seq);
    clients.push(client);
    return client;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await discord?.close();
    discord = undefined;
  });

  it('replays exactly seq+1..last (including events sequenced while away), then RESUMED', async () => {
    await sim();
    const { client, ready, lastSeq } = await session();
    discord!.traffic.emit(20);
    await client.next((p) => p.s === lastSeq + 20);
    client.close(4900);
    await client.closed();
    discord!.traffic.emit(30);
    const resumed = await resume(ready, lastSeq + 5);
    const marker = await resumed.next((p) => p.t === 'RESUMED');
    expect(marker.s).toBeNull();
    const seqs = resumed.dispatches().filter((p) => p.t !== 'RESUMED').map((p) => p.s);
    expect(seqs).toEqual(Array.from({ length: 45 }, (_, i) => lastSeq + 6 + i));
    expect(discord!.stats.resumes).toBe(1);
    expect(discord!.stats.identifies).toBe(1);
    // The resumed session keeps receiving live dispatches with the next seq.
    discord!.traffic.emit(1);
    expect((await resumed.next((p) => p.op === 0)).s).toBe(lastSeq + 51);
    expect(discord!.connections(0).find((c) => c.open)?.resumed).toBe(true);
  });

  it('answers op 9 false for an unknown session', async () => {
    await sim();
    const client = await resumingClient(`${discord!.gatewayUrl}/resume`, 'no-such-session', 3);
    clients.push(client);
    expect((await client.next((p) => p.op === 9)).d).toBe(false);
    expect(discord!.stats.invalidSessions).toBe(1);
  });

  it('closes with 4007 when the RESUME seq is beyond the last one sequenced', async () => {
    await sim();
    const { client, ready, lastSeq } = await session();
    client.close(4900);
    await client.closed();
    const resumed = await resume(ready, lastSeq + 1);
    expect(await resumed.closed()).toBe(4007);
  });

  it.each([1000, 1001])('deletes the session when the client closes with %i', async (code) => {
    await sim();
    const { client, ready, lastSeq } = await session();
    client.close(code);
    await client.closed();
    await waitFor(() => discord!.connections().every((c) => !c.open));
    const resumed = await resume(ready, lastSeq);
    expect((await resumed.next((p) => p.op === 9)).d).toBe(false);
  });

  it.each([4000, 4900, 3000])('keeps the session resumable when the client closes with %i', async (code) => {
    await sim();
    const { client, ready, lastSeq } = await session();
    client.close(code);
    await client.closed();
    const resumed = await resume(ready, lastSeq);
    await resumed.next((p) => p.t === 'RESUMED');
  });

  it('keeps the session resumable after a TCP drop from the client', async () => {
    await sim();
    const { client, ready, lastSeq } = await session();
    client.terminate();
    await waitFor(() => discord!.connections().every((c) => !c.open));
    discord!.traffic.emit(3);
    const resumed = await resume(ready, lastSeq);
    await resumed.next((p) => p.t === 'RESUMED');
    expect(resumed.dispatches().filter((p) => p.s !== null)).toHaveLength(3);
  });

  it('closes a connection whose heartbeats stop, with a code that keeps the session', async () => {
    await sim({ heartbeatIntervalMs: 100 });
    const { client, ready, lastSeq } = await session();
    expect(await client.closed()).toBe(SIM_CLOSE_CODES.heartbeatTimeout);
    const resumed = await resume(ready, lastSeq);
    await resumed.next((p) => p.t === 'RESUMED');
  });

  it('closes the older connection when a RESUME takes over a session that is still live', async () => {
    await sim();
    const { client, ready, lastSeq } = await session();
    const newer = await resume(ready, lastSeq);
    await newer.next((p) => p.t === 'RESUMED');
    expect(await client.closed()).toBe(SIM_CLOSE_CODES.superseded);
    discord!.traffic.emit(5);
    await newer.next((p) => p.s === lastSeq + 5);
    expect(client.dispatches().every((p) => p.s! <= lastSeq)).toBe(true);
  });

  it('forgets a disconnected session after sessionTtlMs', async () => {
    await sim({ sessionTtlMs: 50 });
    const { client, ready, lastSeq } = await session();
    client.close(4900);
    await client.closed();
    const closedAt = Date.now();
    await waitFor(() => Date.now() - closedAt > 100);
    const resumed = await resume(ready, lastSeq);
    expect((await resumed.next((p) => p.op === 9)).d).toBe(false);
  });

  it('answers op 9 false when the missed events no longer fit the replay buffer', async () => {
    await sim({ replayBufferSize: 10 });
    const { client, ready, lastSeq } = await session();
    client.close(4900);
    await client.closed();
    discord!.traffic.emit(20);
    const resumed = await resume(ready, lastSeq);
    expect((await resumed.next((p) => p.op === 9)).d).toBe(false);
  });

  it('lets a client re-identify on the same socket after op 9 false', async () => {
    await sim();
    const { client } = await session();
    expect(discord!.faults.invalidSession(0, false)).toBe(1);
    expect((await client.next((p) => p.op === 9)).d).toBe(false);
    client.identify('fake-token', [0, 1], 1);
    const ready = await client.next((p) => p.t === 'READY');
    expect(ready.s).toBe(1);
    expect(discord!.stats.identifies).toBe(2);
  });
});

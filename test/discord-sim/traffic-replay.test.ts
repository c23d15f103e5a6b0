import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { SimClient, identifiedClient, resumingClient, type Payload } from './sim-client.ts';

const INTENTS = 0b11_1111_1111 | (1 << 15);
const WORLD = { seed: 23, guilds: 12, membersPerGuild: 8 };

/** What a client received after READY and the GUILD_CREATEs: the traffic, as (t, s, d). */
function traffic(client: SimClient, afterSeq: number): Array<Pick<Payload, 't' | 's' | 'd'>> {
  return client.dispatches().filter((p) => p.s! > afterSeq).map(({ t, s, d }) => ({ t, s, d }));
}

describe('traffic replay: a burst encoded ahead of time, written at full speed', () => {
  const sims: FakeDiscord[] = [];
  const clients: SimClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    for (const d of sims.splice(0)) await d.close();
  });

  async function sim(): Promise<FakeDiscord> {
    const discord = new FakeDiscord({ shards: 2, maxConcurrency: 2, identifySpacingMs: 0, world: WORLD });
    sims.push(discord);
    await discord.start();
    return discord;
  }

  /** Shard 0 over JSON, shard 1 over zlib-stream, each waited for until its GUILD_CREATEs are in. */
  async function connect(discord: FakeDiscord): Promise<{ json: SimClient; zlib: SimClient; base: [number, number] }> {
    const json = await identifiedClient(discord.gatewayUrl, { shard: [0, 2], intents: INTENTS });
    const zlib = await identifiedClient(discord.gatewayUrl, { shard: [1, 2], intents: INTENTS, compress: true });
    clients.push(json.client, zlib.client);
    const base: [number, number] = [1 + json.ready.d.guilds.length, 1 + zlib.ready.d.guilds.length];
    await json.client.next((p) => p.s === base[0]);
    await zlib.client.next((p) => p.s === base[1]);
    return { json: json.client, zlib: zlib.client, base };
  }

  it('sends exactly what the live stream of the same seed sends, over JSON and zlib-stream, with a heartbeat between chunks', async () => {
    const live = await sim();
    const replayed = await sim();
    const a = await connect(live);
    const b = await connect(replayed);

    live.traffic.emit(900);
    expect(replayed.replay.prepare(900, 100)).toBe(900);
    expect(replayed.replay.pending).toBe(900);
    // Preparing generates the events (the world changes) but sends nothing yet.
    expect(replayed.ledger.eventCount(0) + replayed.ledger.eventCount(1)).toBe(b.base[0] + b.base[1]);
    expect(replayed.replay.play(250)).toBe(200);
    // A frame the connection's own compressor makes between two replayed chunks still decodes.
    b.zlib.send(1, null);
    b.json.send(1, null);
    await b.zlib.next((p) => p.op === 11);
    await b.json.next((p) => p.op === 11);
    expect(replayed.replay.play(10_000)).toBe(700);
    expect(replayed.replay.pending).toBe(0);

    const end = (d: FakeDiscord, shard: number): number => d.ledger.eventCount(shard);
    expect(end(replayed, 0)).toBe(end(live, 0));
    expect(end(replayed, 1)).toBe(end(live, 1));
    for (const [shard, key] of [[0, 'json'], [1, 'zlib']] as const) {
      await waitFor(() => a[key].dispatches().at(-1)?.s === end(live, shard) && b[key].dispatches().at(-1)?.s === end(replayed, shard), { message: `shard ${shard} received everything` });
      expect(traffic(b[key], b.base[shard]!)).toEqual(traffic(a[key], a.base[shard]!));
    }
    expect(b.zlib.inflateError).toBeNull();
    expect(b.zlib.binaryFrames.every((f) => f.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff])))).toBe(true);
    // The world moved as much as the live one did.
    expect([...replayed.world.guilds.values()].map((g) => g.members.size)).toEqual([...live.world.guilds.values()].map((g) => g.members.size));
    expect(replayed.traffic.counts()).toEqual(live.traffic.counts());
    for (const shard of [0, 1]) {
      const handled = (shard === 0 ? b.json : b.zlib).dispatches().map((p) => ({ sessionId: replayed.ledger.events(shard)[0]!.sessionId, seq: p.s! }));
      const check = replayed.ledger.check(shard, handled);
      expect(check.lost).toEqual([]);
      expect(check.duplicated).toEqual([]);
      expect(replayed.ledger.transmissions(shard).map((t) => t.seq)).toEqual(handled.map((h) => h.seq));
    }
  });

  it('a session away from its socket during play gets the chunks on RESUME; a dispatch in between renumbers the rest', async () => {
    const discord = await sim();
    const { json, zlib, base } = await connect(discord);
    const sessionId = discord.ledger.events(0)[0]!.sessionId;
    expect(discord.replay.prepare(600, 100)).toBe(600);
    discord.replay.play(200);
    await waitFor(() => json.dispatches().at(-1)?.s === discord.ledger.eventCount(0), { message: 'first chunks received' });
    const resumeAt = json.dispatches().at(-1)!.s!;
    json.terminate();
    await waitFor(() => discord.connections(0).every((c) => !c.open), { message: 'the server saw the socket go' });
    discord.replay.play(200);
    // Live traffic on the same sessions between two played chunks takes the next seqs.
    discord.traffic.emit(20);
    discord.replay.play(10_000);
    const resumed = await resumingClient(discord.gatewayUrl, sessionId, resumeAt);
    clients.push(resumed);
    await resumed.next((p) => p.t === 'RESUMED');
    const last = discord.ledger.eventCount(0);
    await waitFor(() => resumed.dispatches().filter((p) => p.s !== null).at(-1)?.s === last, { message: 'resume replayed everything' });
    await waitFor(() => zlib.dispatches().at(-1)?.s === discord.ledger.eventCount(1), { message: 'shard 1 received everything' });
    const seqs = [...json.dispatches(), ...resumed.dispatches()].map((p) => p.s).filter((s) => s !== null);
    expect(seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    const handled = seqs.map((seq) => ({ sessionId, seq }));
    const check = discord.ledger.check(0, handled);
    expect(check.lost).toEqual([]);
    expect(check.duplicated).toEqual([]);
    expect(zlib.inflateError).toBeNull();
    const zseqs = zlib.dispatches().map((p) => p.s!);
    expect(zseqs).toEqual(Array.from({ length: zseqs.length }, (_, i) => i + 1));
  });

  it('refuses bad sizes and plays nothing when nothing is prepared', async () => {
    const discord = await sim();
    expect(() => discord.replay.prepare(-1)).toThrow(/non-negative integer/);
    expect(() => discord.replay.prepare(10, 0)).toThrow(/positive integer/);
    expect(discord.replay.play(100)).toBe(0);
  });
});

/**
 * Gateway dispatch throughput: one burst of simulated traffic consumed by shardline's Shard
 * (zlib-stream, then plain JSON) and by a discord.js v14 Client (plain JSON: zlib-sync is not
 * installed; default caching), each against its own FakeDiscord in this same process.
 *
 *   npx tsx bench/gateway-throughput.ts [--events 200000] [--guilds 50] [--shards 1]
 *   (or EVENTS=… GUILDS=… SHARDS=… npx tsx bench/gateway-throughput.ts)
 *
 * The figure is events/s delivered to the handler (Shard: onDispatch; discord.js: 'raw'),
 * from the first emitted event to the last delivered one. The simulator runs in the same
 * process and its cost (generation, serialization, deflate) is inside every figure.
 * Emission is paced (at most WINDOW events in flight) so the measure is sustained
 * throughput, not socket buffering. The last two lines time the client-side zlib decode
 * alone, in both ZlibInflater modes (synchronous windowed inflate on Node; the stream
 * fallback Deno uses).
 */
import { parseArgs } from 'node:util';
import { constants, createDeflate } from 'node:zlib';
import { Client, Events, GatewayIntentBits } from 'discord.js';
import { FakeDiscord } from '../src/discord-sim/fake-discord.ts';
import { LocalIdentifyThrottler } from '../src/gateway/local-identify-throttler.ts';
import { Shard } from '../src/gateway/shard.ts';
import { createWsTransport } from '../src/runtime/ws-transport.ts';
import { ZlibInflater } from '../src/gateway/zlib-inflater.ts';

const { values: args } = parseArgs({
  options: { events: { type: 'string' }, guilds: { type: 'string' }, shards: { type: 'string' } },
});
const EVENTS = Number(args.events ?? process.env['EVENTS'] ?? 200_000);
const GUILDS = Number(args.guilds ?? process.env['GUILDS'] ?? 50);
const SHARDS = Number(args.shards ?? process.env['SHARDS'] ?? 1);
const WINDOW = 5_000;
const CHUNK = 500;
const SEED = 42;
// Every intent Discord documents; the simulator allows the privileged ones by default.
const INTENTS = 53608447;

interface Result {
  name: string;
  events: number;
  seconds: number;
  perSecond: number;
  heapMb: number;
}

function sim(): FakeDiscord {
  return new FakeDiscord({
    shards: SHARDS,
    maxConcurrency: SHARDS,
    identifySpacingMs: 0,
    replayBufferSize: 1_000,
    world: { seed: SEED, guilds: GUILDS, membersPerGuild: 50 },
  });
}

function sessionEvents(discord: FakeDiscord): number {
  let n = 0;
  for (let s = 0; s < SHARDS; s++) n += discord.ledger.events(s).length;
  return n;
}

/** Emits EVENTS paced by `delivered()`, then waits until every sequenced event arrived. */
async function burst(name: string, discord: FakeDiscord, delivered: () => number): Promise<Result> {
  const before = sessionEvents(discord);
  const base = delivered();
  const t0 = performance.now();
  let emitted = 0;
  while (emitted < EVENTS) {
    if (emitted - (delivered() - base) < WINDOW) emitted += discord.traffic.emit(Math.min(CHUNK, EVENTS - emitted));
    await new Promise((r) => setImmediate(r));
  }
  const expected = sessionEvents(discord) - before;
  while (delivered() - base < expected) await new Promise((r) => setTimeout(r, 1));
  const seconds = (performance.now() - t0) / 1000;
  return { name, events: expected, seconds, perSecond: expected / seconds, heapMb: process.memoryUsage().heapUsed / 2 ** 20 };
}

async function runShardline(compress: boolean): Promise<Result> {
  const discord = sim();
  await discord.start();
  let count = 0;
  const throttler = new LocalIdentifyThrottler({ maxConcurrency: SHARDS, spacingMs: 0 });
  const shards = Array.from(
    { length: SHARDS },
    (_, shardId) =>
      new Shard({
        shardId,
        shardCount: SHARDS,
        token: 'fake-token',
        intents: INTENTS,
        gatewayUrl: discord.gatewayUrl,
        transport: createWsTransport(),
        identifyThrottler: throttler,
        compress,
        onDispatch: () => {
          count++;
        },
      }),
  );
  try {
    await Promise.all(shards.map((s) => s.start()));
    await settle(() => count);
    return await burst(`shardline Shard (${compress ? 'zlib-stream' : 'plain JSON'})`, discord, () => count);
  } finally {
    await Promise.all(shards.map((s) => s.close({ endSession: true })));
    await discord.close();
  }
}

async function runDiscordJs(): Promise<Result> {
  const discord = sim();
  await discord.start();
  let count = 0;
  const client = new Client({
    intents: INTENTS as unknown as GatewayIntentBits[],
    rest: { api: discord.restUrl },
    shards: Array.from({ length: SHARDS }, (_, i) => i),
    shardCount: SHARDS,
    waitGuildTimeout: 1_000,
    ws: { buildIdentifyThrottler: () => Promise.resolve({ waitForIdentify: async () => {} }) } as never,
  });
  client.on('raw', () => {
    count++;
  });
  try {
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login('fake-token');
    await ready;
    await settle(() => count);
    return await burst('discord.js v14 Client (plain JSON, default caching)', discord, () => count);
  } finally {
    await client.destroy();
    await discord.close();
  }
}

/** Waits until READY/GUILD_CREATE stop arriving, so the burst starts from a quiet socket. */
async function settle(count: () => number): Promise<void> {
  let last = -1;
  while (count() !== last) {
    last = count();
    await new Promise((r) => setTimeout(r, 200));
  }
}

function row(r: Result): string {
  return `${r.name.padEnd(52)} ${String(r.events).padStart(8)} ev ${r.seconds.toFixed(2).padStart(7)} s ${Math.round(r.perSecond).toLocaleString('en-US').padStart(10)} ev/s  heap ${r.heapMb.toFixed(0)} MB`;
}

/**
 * The client-side share of zlib-stream alone: the frames are deflated beforehand (one
 * context, Z_SYNC_FLUSH each), then only ZlibInflater runs, pipelined as in a shard.
 */
async function inflateOnly(mode: 'sync' | 'stream'): Promise<Result> {
  const texts = Array.from({ length: EVENTS }, (_, i) =>
    JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s: i + 1, d: { id: String(1e17 + i), channel_id: '123', content: `message ${i} `.repeat(1 + (i % 8)), author: { id: String(i % 5000), username: `user${i % 5000}` } } }),
  );
  const deflate = createDeflate();
  const out: Buffer[] = [];
  deflate.on('data', (c: Buffer) => out.push(c));
  const frames: Uint8Array[] = [];
  for (const text of texts) {
    deflate.write(text);
    await new Promise<void>((r) => deflate.flush(constants.Z_SYNC_FLUSH, () => r()));
    frames.push(Buffer.concat(out.splice(0)));
  }
  deflate.close();
  const inflater = new ZlibInflater({ mode });
  const t0 = performance.now();
  let done = 0;
  for (let i = 0; i < frames.length; i += CHUNK) {
    await Promise.all(frames.slice(i, i + CHUNK).map((f) => Promise.resolve(inflater.push(f)!).then((t) => (done += JSON.parse(t) ? 1 : 0))));
  }
  const seconds = (performance.now() - t0) / 1000;
  inflater.close();
  return { name: `ZlibInflater (${mode}) + JSON.parse alone, no socket/sim`, events: done, seconds, perSecond: done / seconds, heapMb: process.memoryUsage().heapUsed / 2 ** 20 };
}

const zlib = await runShardline(true);
const plain = await runShardline(false);
const djs = await runDiscordJs();
const inflateSync = await inflateOnly('sync');
const inflateStream = await inflateOnly('stream');
console.log(`gateway throughput: ${EVENTS} events, ${GUILDS} guilds, ${SHARDS} shard(s), node ${process.version}`);
for (const r of [zlib, plain, djs, inflateSync, inflateStream]) console.log(row(r));
console.log(`ratio shardline(zlib-stream) / discord.js(JSON): ${(zlib.perSecond / djs.perSecond).toFixed(2)}x`);
console.log(`ratio shardline(JSON) / discord.js(JSON), like for like: ${(plain.perSecond / djs.perSecond).toFixed(2)}x`);

/**
 * Live reshard: FROM -> TO shards (default 8 -> 16) at max_concurrency 4 and Discord's 5 s
 * identify spacing, under traffic, side by side in one run, each against its own simulated
 * Discord with the same world and the same traffic rate:
 *
 *   shardline  a cluster of NODES nodes on a simulated LiteFS; POST /reshard starts the new set
 *              beside the old one and switches the handlers group by group
 *   discordjs  one discord.js v14 Client, resharded the way its users do: destroy it and log in
 *              a new Client with the new count (every shard identifies again)
 *
 *   flock /tmp/shardline-bench.lock npx tsx bench/reshard.ts
 *   FROM=8 TO=16 MAX_CONCURRENCY=4 NODES=3 RATE=300 GUILDS=320 MEMBERS=10 (defaults)
 *
 * Figures, over the events Discord routed from the reshard's start to its end:
 *   lost               events no session received, or received and never handled
 *   duplicatedHandled  events carrying a stable id (messages, interactions...) handled twice
 *   handlerGap         per event: from Discord sending it to the bot's first handling of it
 *   peerDarkMs         discord.js: from destroy() to the new Client's ClientReady
 *
 * Ends with one JSON line: {"bench":"reshard","from":8,"to":16,"tookMs":...,"identifies":...,"lost":...,
 * "duplicatedHandled":...,"handlerGapP99Ms":...,"handlerGapMaxMs":...,"peerDarkMs":...,"peerLost":...}
 */
import { Routes } from 'discord-api-types/v10';
import type { BotDefinition } from '../src/bot.ts';
import { formatTable } from '../src/cli/format-table.ts';
import { isIdCarrying } from '../src/core/event-identity.ts';
import { FakeDiscord, type FakeDiscordOptions } from '../src/discord-sim/fake-discord.ts';
import { DEFAULT_TRAFFIC_MIX } from '../src/discord-sim/traffic-events.ts';
import { ADMIN_TOKEN, SimCluster } from '../test/helpers/sim-cluster.ts';
import { CACHE_INTENTS } from '../test/helpers/test-host.ts';
import { waitFor } from '../test/helpers/wait-for.ts';

const env = process.env;
const FROM = Number(env['FROM'] ?? 8);
const TO = Number(env['TO'] ?? 16);
const MAX_CONCURRENCY = Number(env['MAX_CONCURRENCY'] ?? 4);
const NODES = Number(env['NODES'] ?? 3);
const RATE = Number(env['RATE'] ?? 300);
const GUILDS = Number(env['GUILDS'] ?? 320);
const MEMBERS = Number(env['MEMBERS'] ?? 10);
const BUCKET_MS = 5_000;
const MIX = { ...DEFAULT_TRAFFIC_MIX, INTERACTION_CREATE: 5 };

interface Handled {
  readonly sessionId: string;
  readonly seq: number;
  readonly at: number;
}

interface Result {
  readonly client: string;
  readonly tookMs: number;
  readonly identifies: number;
  readonly lost: number;
  readonly duplicatedHandled: number;
  readonly duplicatedOther: number;
  readonly gaps: number[];
  readonly darkMs: number;
  readonly answeredTwice: number;
  readonly note: string;
}

const discordOptions = (): FakeDiscordOptions => ({ shards: FROM, maxConcurrency: MAX_CONCURRENCY, identifySpacingMs: BUCKET_MS, world: { seed: 21, guilds: GUILDS, membersPerGuild: MEMBERS } });

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * Per routed event since `since`: lost or not, handled twice or not, and how long after Discord
 * sent it the bot first handled it. Events no session received count as lost too.
 */
function measure(discord: FakeDiscord, handled: readonly Handled[], since: number, undeliveredBefore: number): Pick<Result, 'lost' | 'duplicatedHandled' | 'duplicatedOther' | 'gaps'> {
  const check = discord.ledger.checkLogical(handled, { since, idCarrying: isIdCarrying });
  const first = new Map<number, number>();
  for (const h of handled) {
    const eventNo = discord.ledger.eventOf(h.sessionId, h.seq) ?? 0;
    if (eventNo <= since) continue;
    const seen = first.get(eventNo);
    if (seen === undefined || h.at < seen) first.set(eventNo, h.at);
  }
  const gaps: number[] = [];
  const slow: string[] = [];
  for (const [eventNo, at] of first) {
    const event = discord.ledger.logicalEvent(eventNo)!;
    gaps.push(Math.max(0, at - event.at));
    if (env['VERBOSE'] && at - event.at > 250) slow.push(`${new Date(event.at).toISOString().slice(17, 23)} ${event.t} waited ${at - event.at} ms`);
  }
  if (slow.length > 0) console.log(`events that waited over 250 ms:\n  ${slow.join('\n  ')}`);
  return {
    lost: check.lost.length + (discord.ledger.undeliveredCount - undeliveredBefore),
    duplicatedHandled: check.duplicatedIdCarrying.length,
    duplicatedOther: check.duplicatedOther,
    gaps,
  };
}

async function shardline(): Promise<Result> {
  const handled: Handled[] = [];
  const bot: BotDefinition = {
    intents: CACHE_INTENTS,
    onDispatch(event) {
      if (event.seq !== null) handled.push({ sessionId: event.sessionId, seq: event.seq, at: Date.now() });
    },
    handlers: {
      INTERACTION_CREATE: async (interaction, ctx) => {
        await ctx.rest.post(Routes.interactionCallback(interaction.id, interaction.token), { body: { type: 4, data: { content: 'pong' } }, auth: false });
      },
    },
  };
  const nodes = Array.from({ length: NODES }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
  // The host's own cluster timings, not the tests' fast ones.
  const cluster = await new SimCluster({
    shardCount: FROM,
    bot,
    identifySpacingMs: BUCKET_MS,
    nodeTimeoutMs: 5_000,
    env: { SHARDLINE_FLUSH_MS: '50' },
    timing: { heartbeatMs: 1_000, reconcileMs: 250, tickMs: 250, settleMs: 1_500, maxConcurrentHandoffs: 1 },
    discord: discordOptions(),
  }).start(nodes);
  try {
    const ready = (count: number): boolean => {
      const runners = [...cluster.nodes.values()].flatMap((n) => n.host.runners());
      return runners.length === count && runners.every((r) => r.shardCount === count && r.shard.status === 'ready' && r.mode === 'live');
    };
    await waitFor(() => ready(FROM), { timeoutMs: 120_000, message: `${FROM} shards ready` });
    cluster.discord.traffic.start({ eventsPerSecond: RATE, mix: MIX });
    await waitFor(() => handled.length > RATE, { timeoutMs: 30_000 });
    const since = cluster.discord.ledger.logicalEventCount;
    const undelivered = cluster.discord.ledger.undeliveredCount;
    const identifies = cluster.discord.stats.identifies;
    const t0 = Date.now();
    const res = await fetch(`${cluster.primary()!.host.url}/reshard`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ shardCount: TO }) });
    if (res.status !== 202) throw new Error(`POST /reshard answered ${res.status}: ${await res.text()}`);
    await waitFor(() => cluster.primary()?.host.status().reshard?.phase === 'done' && ready(TO), { timeoutMs: 300_000, intervalMs: 10, message: 'the reshard is done' });
    const tookMs = Date.now() - t0;
    // A second of traffic on the new set, then every event handled.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    cluster.discord.traffic.stop();
    await waitFor(() => cluster.discord.ledger.checkLogical(handled, { since }).lost.length === 0, { timeoutMs: 30_000 }).catch(() => {});
    if (env['VERBOSE']) {
      for (const line of cluster.log.lines()) {
        const msg = String(line['msg'] ?? '');
        if (/resharding|switched group|took over|retired|reshard done|stall|blocked/.test(msg)) console.log(`${new Date(Number(line['time'])).toISOString().slice(17, 23)} ${String(line['node'])} ${msg} ${line['tookMs'] ?? ''}${line['shardId'] ?? ''}`);
      }
    }
    const m = measure(cluster.discord, handled, since, undelivered);
    const groups = cluster.primary()!.host.status().reshard?.groups.length ?? 0;
    return {
      client: `shardline (${NODES} nodes)`,
      tookMs,
      identifies: cluster.discord.stats.identifies - identifies,
      ...m,
      darkMs: 0,
      answeredTwice: cluster.discord.stats.interactionsAnsweredTwice,
      note: `${groups} switch groups; the old set handled events until each group switched`,
    };
  } finally {
    await cluster.close();
  }
}

async function discordjs(): Promise<Result> {
  const { Client, Events } = await import('discord.js');
  const discord = new FakeDiscord(discordOptions());
  await discord.start();
  const handled: Handled[] = [];
  const make = (shardCount: number): InstanceType<typeof Client> => {
    const client = new Client({ intents: CACHE_INTENTS, rest: { api: discord.restUrl }, shards: Array.from({ length: shardCount }, (_, i) => i), shardCount, waitGuildTimeout: 60_000 });
    // Each shard's session, for the ledger: discord.js names the shard beside every raw packet.
    const sessions = new Map<number, string>();
    client.on(Events.Raw, (packet: { t?: string; s?: number | null; d?: { session_id?: string } }, shardId: number) => {
      if (packet.t === 'READY' && packet.d?.session_id) sessions.set(shardId, packet.d.session_id);
      const sessionId = sessions.get(shardId);
      if (sessionId && typeof packet.s === 'number') handled.push({ sessionId, seq: packet.s, at: Date.now() });
    });
    client.on(Events.InteractionCreate, (interaction) => {
      if (interaction.isRepliable()) void interaction.reply({ content: 'pong' }).catch(() => {});
    });
    return client;
  };
  let client = make(FROM);
  try {
    const up = (c: InstanceType<typeof Client>): Promise<void> => new Promise((resolve) => c.once(Events.ClientReady, () => resolve()));
    let ready = up(client);
    await client.login('fake-token');
    await ready;
    discord.traffic.start({ eventsPerSecond: RATE, mix: MIX });
    await waitFor(() => handled.length > RATE, { timeoutMs: 30_000 });
    const since = discord.ledger.logicalEventCount;
    const undelivered = discord.ledger.undeliveredCount;
    const identifies = discord.stats.identifies;
    const t0 = Date.now();
    await client.destroy();
    client = make(TO);
    ready = up(client);
    await client.login('fake-token');
    await ready;
    const darkMs = Date.now() - t0;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    discord.traffic.stop();
    await waitFor(() => discord.ledger.checkLogical(handled, { since }).lost.length === 0, { timeoutMs: 10_000 }).catch(() => {});
    const m = measure(discord, handled, since, undelivered);
    return {
      client: 'discord.js (destroy, log in at the new count)',
      tookMs: darkMs,
      identifies: discord.stats.identifies - identifies,
      ...m,
      darkMs,
      answeredTwice: discord.stats.interactionsAnsweredTwice,
      note: 'every guild unhandled from destroy() until its new shard is READY',
    };
  } finally {
    await client.destroy();
    await discord.close();
  }
}

async function main(): Promise<void> {
  if (![FROM, TO, MAX_CONCURRENCY, NODES, RATE, GUILDS, MEMBERS].every((n) => Number.isInteger(n) && n > 0) || TO === FROM) {
    throw new Error('FROM, TO, MAX_CONCURRENCY, NODES, RATE, GUILDS and MEMBERS must be positive integers, FROM != TO');
  }
  const floorMs = Math.ceil(TO / MAX_CONCURRENCY) * BUCKET_MS;
  console.log(`reshard ${FROM} -> ${TO} shards, max_concurrency ${MAX_CONCURRENCY} (identify floor of the new set: ${floorMs / 1000} s, its last bucket at ${floorMs / 1000 - 5} s), ${GUILDS} guilds x ${MEMBERS} members, ${RATE} events/s, node ${process.version}\n`);
  const results = [await shardline(), await discordjs()];
  const header = ['client', 'took s', 'IDENTIFYs', 'lost', 'dup ids', 'dup other', 'gap p50 ms', 'gap p99 ms', 'gap max ms', 'dark s', '40060'];
  const rows = results.map((r) => [
    r.client,
    (r.tookMs / 1000).toFixed(2),
    String(r.identifies),
    String(r.lost),
    String(r.duplicatedHandled),
    String(r.duplicatedOther),
    percentile(r.gaps, 50).toFixed(1),
    percentile(r.gaps, 99).toFixed(1),
    Math.max(0, ...r.gaps).toFixed(1),
    (r.darkMs / 1000).toFixed(2),
    String(r.answeredTwice),
  ]);
  console.log(formatTable(header, rows));
  for (const r of results) console.log(`  ${r.client}: ${r.note}`);
  const [s, d] = results as [Result, Result];
  console.log(`\nevents lost: shardline ${s.lost}, discord.js ${d.lost}; longest time an event waited for a handler: shardline ${Math.max(0, ...s.gaps).toFixed(0)} ms, discord.js dark for ${(d.darkMs / 1000).toFixed(1)} s`);
  console.log('goal: lost 0, duplicatedHandled 0 (id-carrying events), identifies = TO, handlerGapP99Ms < 250');
  console.log(
    JSON.stringify({
      bench: 'reshard',
      from: FROM,
      to: TO,
      tookMs: Math.round(s.tookMs),
      identifies: s.identifies,
      lost: s.lost,
      duplicatedHandled: s.duplicatedHandled,
      handlerGapP99Ms: Number(percentile(s.gaps, 99).toFixed(1)),
      handlerGapMaxMs: Number(Math.max(0, ...s.gaps).toFixed(1)),
      peerDarkMs: Math.round(d.darkMs),
      peerLost: d.lost,
    }),
  );
}

await main();
process.exit(0);

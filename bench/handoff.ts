/**
 * Handoff gap: shards moved repeatedly between the nodes of a 3-node cluster (simulated
 * Discord, simulated LiteFS) under live traffic, by shardline's resume handoff; beside it,
 * in the same run, the move every peer without session handover does: close the session
 * on the old owner and IDENTIFY on the new one (at Discord's 5 s identify spacing).
 *
 *   npx tsx bench/handoff.ts        (MOVES=30 RATE=600 npx tsx bench/handoff.ts)
 *
 * gap = first event handled on the new owner - last event handled on the old owner.
 * Traffic is spread over 6 shards, so even with a perfect move a shard waits for its next
 * event: the gap includes up to one inter-event interval (~10 ms at the default rate).
 */
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { BotDefinition } from '../src/bot.ts';
import { FakeDiscord } from '../src/discord-sim/fake-discord.ts';
import { LocalIdentifyThrottler } from '../src/gateway/local-identify-throttler.ts';
import { Shard } from '../src/gateway/shard.ts';
import { createWsTransport } from '../src/runtime/ws-transport.ts';
import { SimCluster } from '../test/helpers/sim-cluster.ts';
import { waitFor } from '../test/helpers/wait-for.ts';

const MOVES = Number(process.env['MOVES'] ?? 30);
const RATE = Number(process.env['RATE'] ?? 600);
const SHARDS = 6;
const NODES = ['node-a', 'node-b', 'node-c'];
const INTENTS = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.GuildMessages | GatewayIntentBits.MessageContent;

interface Handled { node: string; shardId: number; sessionId: string; seq: number; at: number }

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function shardline(): Promise<{ gaps: number[]; lost: number; duplicated: number; identifies: number }> {
  const handled: Handled[] = [];
  const botFor = (node: string): BotDefinition => ({
    intents: INTENTS,
    onDispatch(event) {
      if (event.seq !== null) handled.push({ node, shardId: event.shardId, sessionId: event.sessionId, seq: event.seq, at: performance.now() });
    },
  });
  // Rebalancing is off so that only the measured moves happen (a manual move unbalances).
  const cluster = await new SimCluster({ shardCount: SHARDS, botFor, timing: { maxConcurrentHandoffs: 0 }, discord: { maxConcurrency: SHARDS, world: { seed: 5, guilds: 60, membersPerGuild: 20 } } }).start(NODES);
  try {
    await waitFor(() => cluster.running().size === SHARDS && NODES.every((id) => cluster.node(id).host.readiness().ready && cluster.primary()?.host.primary?.coordinator.nodeUrl(id)), { timeoutMs: 30_000 });
    const identifies = cluster.discord.stats.identifies;
    cluster.discord.traffic.start({ eventsPerSecond: RATE });
    await waitFor(() => handled.length > RATE / 2);
    const gaps: number[] = [];
    for (let i = 0; i < MOVES; i++) {
      const shardId = i % SHARDS;
      await waitFor(() => (cluster.running().get(shardId)?.length === 1 ? true : null));
      const from = cluster.running().get(shardId)![0]!;
      const to = NODES[(NODES.indexOf(from) + 1) % NODES.length]!;
      const mark = handled.length;
      await cluster.primary()!.host.primary!.coordinator.move(shardId, to);
      const first = await waitFor(() => handled.slice(mark).find((h) => h.shardId === shardId && h.node === to), { timeoutMs: 10_000 });
      const last = handled.filter((h) => h.shardId === shardId && h.node === from).at(-1)!;
      gaps.push(first.at - last.at);
      await waitFor(() => cluster.node(to).host.runner(shardId)?.shard.status === 'ready');
    }
    cluster.discord.traffic.stop();
    const expected = (): number => Array.from({ length: SHARDS }, (_, s) => cluster.discord.ledger.events(s).length).reduce((a, b) => a + b, 0);
    await waitFor(() => handled.length >= expected(), { timeoutMs: 20_000 });
    let lost = 0;
    let duplicated = 0;
    for (let s = 0; s < SHARDS; s++) {
      const check = cluster.discord.ledger.check(s, handled.filter((h) => h.shardId === s));
      lost += check.lost.length;
      duplicated += check.duplicated.length;
    }
    return { gaps, lost, duplicated, identifies: cluster.discord.stats.identifies - identifies };
  } finally {
    await cluster.close();
  }
}

/** The peer: end the session on the old owner, IDENTIFY a new one (what a re-identify move costs). */
async function reidentify(): Promise<{ gaps: number[]; lost: number; identifies: number }> {
  const moves = Math.min(MOVES, 4);
  const discord = new FakeDiscord({ shards: 1, identifySpacingMs: 5_000, world: { seed: 5, guilds: 10, membersPerGuild: 20 } });
  await discord.start();
  const transport = createWsTransport();
  const throttler = new LocalIdentifyThrottler({ maxConcurrency: 1, spacingMs: 5_000 });
  const handled: Handled[] = [];
  const make = (node: string): Shard =>
    new Shard({
      shardId: 0, shardCount: 1, token: 'fake-token', intents: INTENTS, gatewayUrl: discord.gatewayUrl, transport, identifyThrottler: throttler,
      onDispatch: (_payload, ctx) => {
        if (ctx.seq !== null) handled.push({ node, shardId: 0, sessionId: ctx.sessionId, seq: ctx.seq, at: performance.now() });
      },
    });
  let current = make('n0');
  try {
    await current.start();
    discord.traffic.start({ eventsPerSecond: RATE / SHARDS });
    await waitFor(() => handled.length > 50);
    const gaps: number[] = [];
    for (let i = 1; i <= moves; i++) {
      const from = `n${i - 1}`;
      const to = `n${i}`;
      const last = handled.filter((h) => h.node === from).at(-1)!;
      await current.close({ endSession: true });
      current = make(to);
      const mark = handled.length;
      await current.start();
      const first = await waitFor(() => handled.slice(mark).find((h) => h.node === to && h.seq > 1 + 0 && handled.length > mark), { timeoutMs: 30_000 });
      gaps.push(first.at - last.at);
    }
    discord.traffic.stop();
    // Every event that happened between the old owner's close and the new READY reached no session.
    const lost = countLost(discord);
    return { gaps, lost, identifies: discord.stats.identifies };
  } finally {
    await current.close({ endSession: true }).catch(() => {});
    await discord.close();
  }
}

/**
 * Traffic the world produced for shard 0 while no session was there to receive it: what the
 * generator made minus what was sequenced into some session (each session also got READY and
 * one GUILD_CREATE per guild, which are not traffic).
 */
function countLost(discord: FakeDiscord): number {
  const events = discord.ledger.events(0);
  const sessions = new Set(events.map((e) => e.sessionId)).size;
  const delivered = events.length - sessions * (1 + discord.world.guilds.size);
  const generated = Object.values(discord.traffic.counts()).reduce((a: number, b) => a + (b ?? 0), 0);
  return Math.max(0, generated - delivered);
}

const ours = await shardline();
const peer = await reidentify();
const row = (name: string, gaps: number[], lost: number, dup: number | string, identifies: number): string =>
  `${name.padEnd(30)} ${String(gaps.length).padStart(5)} ${percentile(gaps, 50).toFixed(1).padStart(9)} ${percentile(gaps, 99).toFixed(1).padStart(9)} ${String(lost).padStart(6)} ${String(dup).padStart(6)} ${String(identifies).padStart(10)}`;
console.log(`handoff gap, ${RATE} events/s over ${SHARDS} shards, 3 nodes (simulated Discord + simulated LiteFS)`);
console.log(`${'move'.padEnd(30)} ${'moves'.padStart(5)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'lost'.padStart(6)} ${'dup'.padStart(6)} ${'identifies'.padStart(10)}`);
console.log(row('shardline (resume handoff)', ours.gaps, ours.lost, ours.duplicated, ours.identifies));
console.log(row('peer (close + re-identify)', peer.gaps, peer.lost, 'n/a', peer.identifies));
if (process.env['VERBOSE']) console.log('shardline gaps (ms):', ours.gaps.map((g) => g.toFixed(0)).join(' '));
console.log(`ratio p50 gap peer/shardline: ${(percentile(peer.gaps, 50) / percentile(ours.gaps, 50)).toFixed(1)}x; goal: shardline p99 < 250 ms with 0 lost, 0 duplicated`);
process.exit(0);

/**
 * Ingest: one world and one traffic stream, consumed three ways, each phase in its own process
 * with the simulated Discord in yet another process (so heap figures hold the client alone):
 *
 *   raw        plain `ws` clients, IDENTIFY by hand, JSON.parse only: the ceiling
 *   shardline  one shardline Host (Host defaults: zlib-stream, transactions on a thread), handlers counting, cache committed
 *   shardline-json  the same with compress off (like for like with discord.js, which has no zlib-sync here)
 *   shardline-inline  shardline-json with writeFunnel: 'inline' (transactions on the event loop, as on Deno)
 *   discordjs  a discord.js v14 Client, default caching, the same intents
 *
 *   node --expose-gc --import tsx bench/ingest.ts      (gc before memory figures; recommended)
 *   npx tsx bench/ingest.ts                            (works; memory figures then include garbage)
 *
 * Options (environment): GUILDS=1000 MEMBERS=100 SHARDS=4 EVENTS=200000 SEED=42 WINDOW=5000
 * CHUNK=1000 ROUNDS=1 PHASES=raw,shardline,shardline-json,discordjs (ROUNDS=3: phases interleaved, medians)
 * MODE=replay (default: the simulator encodes the burst before it is timed and then only writes
 * it, about 1 us of its CPU per event, so the figures measure the client) or MODE=live (each
 * event generated, serialized and compressed as it is sent, 14-60 us of simulator CPU per event).
 *
 * Each phase: connect and wait until every guild arrived (timed separately), then a burst of
 * EVENTS from the first emit to the last event handled (at most WINDOW in flight, so the figure
 * is sustained throughput, not socket buffering) and, for shardline, to the last seq committed:
 * its events/s is over the later of the two; then heap and RSS after gc.
 * Goals (issue 19): shardline-json >= 2x discord.js events/s, <= 0.5x its CPU per event, >= 60% of raw;
 * heap <= 10% and RSS <= 50% of discord.js. The cache must end equal to the world (checked by row counts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import type { DispatchEvent } from '../src/bot.ts';
import type { Host } from '../src/host.ts';
// Libraries are imported by the phase that uses them, so no phase's heap holds another's modules.

const env = process.env;
const GUILDS = Number(env['GUILDS'] ?? 1000);
const MEMBERS = Number(env['MEMBERS'] ?? 100);
const SHARDS = Number(env['SHARDS'] ?? 4);
const EVENTS = Number(env['EVENTS'] ?? 200_000);
const SEED = Number(env['SEED'] ?? 42);
const WINDOW = Number(env['WINDOW'] ?? 5_000);
const CHUNK = Number(env['CHUNK'] ?? 1_000);
const ROUNDS = Number(env['ROUNDS'] ?? 1);
const PHASES = (env['PHASES'] ?? 'raw,shardline,shardline-json,discordjs').split(',').map((p) => p.trim());
const KNOWN_PHASES = ['raw', 'shardline', 'shardline-json', 'shardline-inline', 'discordjs'];
const MODE = env['MODE'] ?? 'replay';
const BUILD = env['BUILD'] === '1';
/** A directory: keep what the transaction thread is sent during the burst (bench/ingest/capture.ts). */
const CAPTURE = env['CAPTURE'];

/** What a caching bot asks for; the same bits for every phase. */
const INTENTS =
  GatewayIntentBits.Guilds |
  GatewayIntentBits.GuildMembers |
  GatewayIntentBits.GuildModeration |
  GatewayIntentBits.GuildExpressions |
  GatewayIntentBits.GuildVoiceStates |
  GatewayIntentBits.GuildPresences |
  GatewayIntentBits.GuildMessages |
  GatewayIntentBits.MessageContent;

const SELF = fileURLToPath(import.meta.url);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MB = 2 ** 20;

interface PhaseResult {
  phase: string;
  guilds: number;
  connectMs: number;
  /** shardline only: until every guild row is committed. */
  connectCommittedMs?: number;
  events: number;
  burstMs: number;
  eventsPerSecond: number;
  /** shardline only: until the last seq of the burst is committed. */
  committedMs?: number;
  clientCpuUsPerEvent: number;
  /** The same split by thread (Linux only), e.g. "main 10.2, worker 6.1, v8 helpers 1.9". */
  threadCpu: string;
  simCpuShare: number;
  /** The simulator's CPU (all its threads) per event of the burst. */
  simCpuUsPerEvent: number;
  /** The simulator's main thread alone: near 100% means the simulator set the rate. */
  simMainShare: number;
  /** Share of the burst the client's event loop was busy (1 = saturated). */
  eventLoopUtilization: number;
  heapMb: number;
  /** Heap after the phase's imports, before connecting. */
  baselineHeapMb: number;
  rssMb: number;
  gc: boolean;
  /** shardline only: 'yes', or the tables whose row counts differ from the simulator's world. */
  cacheEqualsWorld?: string;
  note?: string;
}

// ---- the simulated Discord, in its own process --------------------------------------------

type SimBody = { type: 'emit'; n: number } | { type: 'prepare'; n: number; chunk: number } | { type: 'count' } | { type: 'cpu' } | { type: 'world' } | { type: 'close' };
type SimRequest = SimBody & { id: number };

async function runSim(): Promise<void> {
  const { FakeDiscord } = await import('../src/discord-sim/fake-discord.ts');
  const discord = new FakeDiscord({ shards: SHARDS, maxConcurrency: SHARDS, identifySpacingMs: 0, world: { seed: SEED, guilds: GUILDS, membersPerGuild: MEMBERS } });
  await discord.start();
  const sequenced = (): number => {
    let n = 0;
    for (let s = 0; s < SHARDS; s++) n += discord.ledger.eventCount(s);
    return n;
  };
  process.on('message', (message: SimRequest) => {
    void (async () => {
      switch (message.type) {
        case 'emit': {
          // Replay mode plays what 'prepare' encoded; live mode generates and sends now.
          const emitted = MODE === 'replay' ? discord.replay.play(message.n) : discord.traffic.emit(message.n);
          process.send!({ id: message.id, emitted, sequenced: sequenced() });
          break;
        }
        case 'prepare':
          process.send!({ id: message.id, prepared: discord.replay.prepare(message.n, message.chunk) });
          break;
        case 'world':
          process.send!({ id: message.id, ...worldCounts(discord.world) });
          break;
        case 'count':
          process.send!({ id: message.id, sequenced: sequenced() });
          break;
        case 'cpu': {
          const cpu = process.cpuUsage();
          process.send!({ id: message.id, cpuUs: cpu.user + cpu.system, mainCpuUs: (threadCpuMs().get(String(process.pid)) ?? 0) * 1000 });
          break;
        }
        case 'close':
          await discord.close();
          process.send!({ id: message.id }, () => process.exit(0));
          break;
      }
    })();
  });
  process.send!({ type: 'ready', restUrl: discord.restUrl, gatewayUrl: discord.gatewayUrl, guilds: discord.world.guilds.size });
}

/**
 * Rows the cache should hold for the world as it stands, table by table (offline presences are
 * absent rows). Members are left out: a guild above the large threshold (50) lists only its
 * online and voice members in GUILD_CREATE, so no client holds every member without asking
 * for them (op 8); test/host/cache-equals-world.test.ts compares every row, members included.
 */
const COUNTED_TABLES = ['guilds', 'channels', 'roles', 'emojis', 'voice_states', 'presences'] as const;

function worldCounts(world: import('../src/discord-sim/fake-discord.ts').WorldView): Record<(typeof COUNTED_TABLES)[number], number> {
  const counts = { guilds: 0, channels: 0, roles: 0, emojis: 0, voice_states: 0, presences: 0 };
  for (const g of world.guilds.values()) {
    counts.guilds += 1;
    counts.channels += g.channels.size + g.threads.size;
    counts.roles += g.roles.size;
    counts.emojis += g.emojis.size;
    counts.voice_states += g.voiceStates.size;
    for (const p of g.presences.values()) if (p.status !== 'offline') counts.presences += 1;
  }
  return counts;
}

/** The same counts from SQL over the cache, in COUNTED_TABLES order. */
const CACHE_COUNTS_SQL = `SELECT (SELECT count(*) FROM guilds), (SELECT count(*) FROM channels), (SELECT count(*) FROM roles),
  (SELECT count(*) FROM emojis), (SELECT count(*) FROM voice_states), (SELECT count(*) FROM presences WHERE status IS NOT 'offline')`;

class SimProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, (value: Record<string, number>) => void>();
  #next = 1;
  restUrl = '';
  gatewayUrl = '';
  guilds = 0;

  constructor() {
    this.#child = fork(SELF, ['sim'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (message: Record<string, unknown>) => {
      const id = message['id'] as number | undefined;
      if (id !== undefined) {
        this.#pending.get(id)?.(message as Record<string, number>);
        this.#pending.delete(id);
      }
    });
  }

  async ready(): Promise<void> {
    const message = await new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#child.once('message', resolve);
      this.#child.once('exit', (code) => reject(new Error(`simulator exited with ${code} before it was ready`)));
    });
    this.restUrl = String(message['restUrl']);
    this.gatewayUrl = String(message['gatewayUrl']);
    this.guilds = Number(message['guilds']);
  }

  request(body: SimBody): Promise<Record<string, number>> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.send({ ...body, id });
    });
  }

  async close(): Promise<void> {
    await this.request({ type: 'close' });
    if (this.#child.exitCode === null) await new Promise((r) => this.#child.once('exit', r));
  }
}

// ---- measuring ----------------------------------------------------------------------------

/**
 * PROFILE=<dir>: a CPU profile of each phase's event loop during the burst only (open in Chrome
 * DevTools); with PROFILE_HEAP=1, a sampling profile of what the burst allocates instead. It also
 * writes `<phase>.window.json`, the burst's start and end on the monotonic clock in us, the clock
 * of `node --cpu-prof` profiles: run with --cpu-prof --cpu-prof-dir=<dir> too and cut the
 * transaction thread's profile to that window.
 */
async function profiled<T>(phase: string, body: () => Promise<T>): Promise<T> {
  const dir = env['PROFILE'];
  if (!dir) return body();
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const heap = env['PROFILE_HEAP'] === '1';
  if (heap) await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  else {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const start = process.hrtime.bigint() / 1000n;
  try {
    return await body();
  } finally {
    writeFileSync(join(dir, `${phase}.window.json`), JSON.stringify({ startUs: Number(start), endUs: Number(process.hrtime.bigint() / 1000n) }));
    if (heap) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(join(dir, `${phase}.heapprofile`), JSON.stringify(profile));
    } else {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(join(dir, `${phase}.cpuprofile`), JSON.stringify(profile));
    }
    session.disconnect();
  }
}

/**
 * Emits EVENTS paced by what the client handled; resolves when the last one was handled, or
 * with `settle` (shardline: until the burst's last seq is committed) once that resolved too.
 * The clock and the CPU counters start after the simulator prepared the burst, and the CPU is
 * counted to the end of `settle`: committing the tail is part of the client's cost.
 */
async function burst(
  sim: SimProcess,
  handled: () => number,
  settle?: () => Promise<void>,
): Promise<{ events: number; ms: number; committedMs: number | undefined; cpuUs: number; simCpuUs: number; simMainCpuUs: number; elu: number; threads: string }> {
  if (MODE === 'replay') {
    // Generated and encoded before the clock starts: the world changes now, the frames go out below.
    const prepared = (await sim.request({ type: 'prepare', n: EVENTS, chunk: CHUNK }))['prepared']!;
    if (prepared === 0) throw new Error('the simulator prepared nothing (empty world?)');
  }
  const seq0 = (await sim.request({ type: 'count' }))['sequenced']!;
  const h0 = handled();
  const simCpu0 = await sim.request({ type: 'cpu' });
  const cpu0 = process.cpuUsage();
  const threads0 = threadCpuMs();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  // Emit requests are pipelined: the next goes out while the simulator still works on the last,
  // so the simulator never idles waiting for a request the client's busy thread has not sent.
  let requested = 0;
  let seq = seq0;
  const replies: Promise<void>[] = [];
  let failure: Error | null = null;
  while (requested < EVENTS && !failure) {
    if (requested - (handled() - h0) < WINDOW) {
      const n = Math.min(CHUNK, EVENTS - requested);
      requested += n;
      replies.push(
        sim.request({ type: 'emit', n }).then((reply) => {
          if (reply['emitted'] === 0) failure = new Error('the simulator emitted nothing (empty world?)');
          seq = Math.max(seq, reply['sequenced']!);
        }),
      );
    } else {
      // A 1 ms poll, not a setImmediate spin: spinning burned the client's CPU while it waited.
      await sleep(1);
    }
  }
  await Promise.all(replies);
  if (failure) throw failure;
  const events = seq - seq0;
  while (handled() - h0 < events) await sleep(1);
  const ms = performance.now() - t0;
  let committedMs: number | undefined;
  if (settle) {
    await settle();
    committedMs = performance.now() - t0;
  }
  const cpu = process.cpuUsage(cpu0);
  const threads = cpuSplit(threads0, threadCpuMs(), events);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const simCpu = await sim.request({ type: 'cpu' });
  const simCpuUs = simCpu['cpuUs']! - simCpu0['cpuUs']!;
  const simMainCpuUs = simCpu['mainCpuUs']! - simCpu0['mainCpuUs']!;
  return { events, ms, committedMs, cpuUs: cpu.user + cpu.system, simCpuUs, simMainCpuUs, elu, threads };
}

/** CPU ms of each thread of this process, by thread id, from /proc (Linux; elsewhere empty). */
function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime (fields 14 and 15 of stat) in clock ticks of 10 ms.
      out.set(tid, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/**
 * CPU us/ev split into the main thread, the busiest other thread (for shardline, the
 * transaction thread) and the rest (V8's GC helpers, libuv's pool). Node names every thread
 * "node", so the busiest one stands for the transaction thread by size, not by name.
 */
function cpuSplit(before: Map<string, number>, after: Map<string, number>, events: number): string {
  const us = (tid: string): number => (((after.get(tid) ?? 0) - (before.get(tid) ?? 0)) * 1000) / events;
  if (after.size === 0) return '';
  const main = us(String(process.pid));
  const others = [...after.keys()].filter((tid) => tid !== String(process.pid)).map(us).sort((a, b) => b - a);
  const rest = others.slice(1).reduce((sum, v) => sum + v, 0);
  return `main ${main.toFixed(1)}, busiest other thread ${(others[0] ?? 0).toFixed(1)}, ${others.length - 1} more ${rest.toFixed(1)}`;
}

function memory(): { heapMb: number; rssMb: number; gc: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  if (env['DEBUG_MEM']) {
    const status = readFileSync('/proc/self/status', 'utf8').split('\n').filter((l) => /^(VmRSS|RssAnon|RssFile|RssShmem|Threads)/.test(l)).join(' ');
    console.error(`[mem] heapUsed ${(m.heapUsed / MB).toFixed(1)} heapTotal ${(m.heapTotal / MB).toFixed(1)} external ${(m.external / MB).toFixed(1)} arrayBuffers ${(m.arrayBuffers / MB).toFixed(1)} rss ${(m.rss / MB).toFixed(1)} | ${status.replace(/\s+/g, ' ')}`);
  }
  return { heapMb: m.heapUsed / MB, rssMb: m.rss / MB, gc: gc !== undefined };
}

/** Lets late frames (heartbeat ACKs, stragglers) land before memory is read. */
async function quiet(): Promise<void> {
  await sleep(500);
}

function result(
  phase: string,
  guilds: number,
  connectMs: number,
  b: Awaited<ReturnType<typeof burst>>,
  baseline: { heapMb: number },
  extra: Partial<PhaseResult> = {},
  threadHeapMb = 0,
): PhaseResult {
  const main = memory();
  // A worker thread's isolate is not in process.memoryUsage().heapUsed: its heap is added.
  const after = { ...main, heapMb: main.heapMb + threadHeapMb };
  return {
    phase,
    guilds,
    connectMs,
    events: b.events,
    burstMs: b.ms,
    eventsPerSecond: (b.events / b.ms) * 1000,
    clientCpuUsPerEvent: b.cpuUs / b.events,
    threadCpu: b.threads,
    simCpuShare: b.simCpuUs / 1000 / b.ms,
    simCpuUsPerEvent: b.simCpuUs / b.events,
    simMainShare: b.simMainCpuUs / 1000 / b.ms,
    eventLoopUtilization: b.elu,
    ...after,
    baselineHeapMb: baseline.heapMb,
    ...extra,
  };
}

// ---- phases -------------------------------------------------------------------------------

/** Plain ws clients: HELLO -> IDENTIFY -> heartbeat; every frame JSON.parsed; dispatches counted. */
async function runRaw(sim: SimProcess): Promise<PhaseResult> {
  const { default: WebSocket } = await import('ws');
  const baseline = memory();
  let dispatches = 0;
  let guildCreates = 0;
  let expectedGuilds = 0;
  let readies = 0;
  const sockets: InstanceType<typeof WebSocket>[] = [];
  const timers: NodeJS.Timeout[] = [];
  const t0 = performance.now();
  for (let shardId = 0; shardId < SHARDS; shardId++) {
    const socket = new WebSocket(`${sim.gatewayUrl}/?v=10&encoding=json`);
    let seq: number | null = null;
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { op: number; t: string | null; s: number | null; d: any };
      if (frame.op === GatewayOpcodes.Dispatch) {
        dispatches++;
        seq = frame.s;
        if (frame.t === 'READY') {
          readies++;
          expectedGuilds += frame.d.guilds.length;
        } else if (frame.t === 'GUILD_CREATE') guildCreates++;
      } else if (frame.op === GatewayOpcodes.Hello) {
        timers.push(setInterval(() => socket.send(JSON.stringify({ op: GatewayOpcodes.Heartbeat, d: seq })), frame.d.heartbeat_interval));
        socket.send(JSON.stringify({ op: GatewayOpcodes.Identify, d: { token: 'fake-token', intents: INTENTS, shard: [shardId, SHARDS], properties: { os: 'linux', browser: 'bench', device: 'bench' } } }));
      }
    });
    sockets.push(socket);
  }
  while (readies < SHARDS || guildCreates < expectedGuilds) await sleep(5);
  const connectMs = performance.now() - t0;
  const b = await profiled('raw', () => burst(sim, () => dispatches));
  await quiet();
  const out = result('raw', guildCreates, connectMs, b, baseline);
  for (const timer of timers) clearInterval(timer);
  for (const socket of sockets) socket.close(1000);
  return out;
}

async function runShardline(sim: SimProcess, compress: boolean, writeFunnel: 'inline' | 'thread' = 'thread'): Promise<PhaseResult> {
  // BUILD=1: the compiled build (npm run build), as a node runs in production; its transaction
  // thread then loads plain JS instead of registering tsx, which costs it memory of its own.
  const from = <T>(module: string): Promise<T> => import(BUILD ? `../dist/${module}.js` : `../src/${module}.ts`) as Promise<T>;
  const { loadConfig } = await from<typeof import('../src/config/load-config.ts')>('config/load-config');
  const { createHost } = await from<typeof import('../src/host.ts')>('host');
  const { createNodeRuntime } = await from<typeof import('../src/runtime/node-runtime.ts')>('runtime/node-runtime');
  const capture = CAPTURE && writeFunnel === 'thread' ? new (await import('./ingest/capture.ts')).BatchCapture(CAPTURE) : null;
  const baseline = memory();
  const dataDir = mkdtempSync(join(tmpdir(), 'shardline-bench-'));
  let dispatches = 0;
  let guildCreates = 0;
  let expectedGuilds = 0;
  let readies = 0;
  const config = loadConfig({
    env: { DISCORD_TOKEN: 'fake-token', DISCORD_API_URL: sim.restUrl, SHARDLINE_DATA_DIR: dataDir, SHARDLINE_HTTP_PORT: '0', SHARDLINE_NODE_ID: 'bench' },
  });
  const host: Host = createHost({
    config,
    runtime: capture ? capture.wrap(createNodeRuntime()) : createNodeRuntime(),
    serveHttp: false,
    identifySpacingMs: 0,
    writeFunnel,
    shardTuning: { compress },
    bot: {
      intents: INTENTS,
      onDispatch(event: DispatchEvent) {
        dispatches++;
        if (event.t === 'READY') {
          readies++;
          expectedGuilds += (event.d as { guilds: unknown[] }).guilds.length;
        } else if (event.t === 'GUILD_CREATE') guildCreates++;
      },
    },
  });
  // Polled every few ms while the tail commits, on the client's own thread: the funnel's counter
  // first (host.status() reads tables and prepares statements, CPU the bench would charge to shardline).
  const committed = (): boolean => {
    if (host.primary?.funnel.stats().queuedEntries !== 0) return false;
    const seqs = new Map(host.query('SELECT shard_id, seq FROM shard_sessions').rows.map((r) => [Number(r[0]), Number(r[1])]));
    return host.runners().every((r) => {
      const seq = r.shard.resumeInfo()?.seq;
      return seq !== undefined && seqs.get(r.shardId) === seq;
    });
  };
  try {
    const t0 = performance.now();
    await host.start();
    while (readies < SHARDS || guildCreates < expectedGuilds) await sleep(5);
    const connectMs = performance.now() - t0;
    while (!committed() || Number(host.query('SELECT count(*) FROM guilds').rows[0]![0]) < expectedGuilds) await sleep(5);
    const connectCommittedMs = performance.now() - t0;
    const flushMs0 = host.status().funnel!.totalFlushMs;
    const phase = writeFunnel === 'inline' ? 'shardline-inline' : compress ? 'shardline' : 'shardline-json';
    await capture?.start(host.databasePath);
    const b = await profiled(phase, () =>
      burst(sim, () => dispatches, async () => {
        while (!committed()) await sleep(2);
      }),
    );
    const committedMs = b.committedMs!;
    await capture?.stop({ phase, events: b.events });
    await quiet();
    const world = await sim.request({ type: 'world' });
    const cached = host.query(CACHE_COUNTS_SQL).rows[0]!.map(Number);
    const cacheDiff = COUNTED_TABLES.map((table, i) => ({ table, world: world[table]!, cache: cached[i]! })).filter((d) => d.world !== d.cache);
    const funnel = host.status().funnel!;
    const dbMb = statSync(host.databasePath).size / MB;
    const threadHeapMb = (funnel.threadHeapBytes ?? 0) / MB;
    return result(phase, guildCreates, connectMs, b, baseline, {
      connectCommittedMs,
      committedMs,
      // The goal counts events handled WITH the cache committed: the later of the two ends.
      eventsPerSecond: (b.events / Math.max(b.ms, committedMs)) * 1000,
      cacheEqualsWorld: cacheDiff.length === 0 ? 'yes' : cacheDiff.map((d) => `${d.table} world ${d.world} cache ${d.cache}`).join(', '),
      note: `${funnel.thread ? `transaction thread heap ${threadHeapMb.toFixed(1)} MB (in heap), ` : ''}${funnel.transactions} transactions, ${funnel.committedRows} rows changed, max batch ${funnel.maxBatchMutations} mutations, flushing ${((funnel.totalFlushMs - flushMs0) / 1000).toFixed(2)} s of the ${(committedMs / 1000).toFixed(2)} s burst, db ${dbMb.toFixed(0)} MB`,
    }, threadHeapMb);
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runDiscordJs(sim: SimProcess): Promise<PhaseResult> {
  const { Client, Events } = await import('discord.js');
  const baseline = memory();
  let dispatches = 0;
  let guildCreates = 0;
  const client = new Client({
    intents: INTENTS,
    rest: { api: sim.restUrl },
    shards: 'auto',
    waitGuildTimeout: 60_000,
    // The simulator allows every shard to identify at once; discord.js would otherwise wait 5 s per bucket round.
    ws: { buildIdentifyThrottler: () => Promise.resolve({ waitForIdentify: async () => {} }) } as never,
  });
  client.on(Events.Raw, (packet: { t?: string }) => {
    dispatches++;
    if (packet.t === 'GUILD_CREATE') guildCreates++;
  });
  try {
    const t0 = performance.now();
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login('fake-token');
    await ready;
    const connectMs = performance.now() - t0;
    const b = await profiled('discordjs', () => burst(sim, () => dispatches));
    await quiet();
    return result('discordjs', client.guilds.cache.size, connectMs, b, baseline, {
      note: `cached: ${client.guilds.cache.size} guilds, ${client.users.cache.size} users, ${client.channels.cache.size} channels, ${client.guilds.cache.reduce((n, g) => n + g.members.cache.size, 0)} members; ${guildCreates} GUILD_CREATE`,
    });
  } finally {
    await client.destroy();
  }
}

async function runPhase(phase: string): Promise<void> {
  const sim = new SimProcess();
  await sim.ready();
  try {
    let out: PhaseResult;
    if (phase === 'raw') out = await runRaw(sim);
    else if (phase === 'shardline') out = await runShardline(sim, true);
    else if (phase === 'shardline-inline') out = await runShardline(sim, false, 'inline');
    else if (phase === 'shardline-json') out = await runShardline(sim, false);
    else out = await runDiscordJs(sim);
    await sim.close();
    // Exit explicitly: a client library may keep a handle (an unref'd timer, a socket) alive.
    process.send!({ type: 'result', result: out }, () => process.exit(0));
  } catch (error) {
    console.error(`phase ${phase} failed:`, error);
    await sim.close().catch(() => {});
    process.exit(1);
  }
}

// ---- the orchestrator ---------------------------------------------------------------------

function runChild(phase: string): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, [phase], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let got: PhaseResult | undefined;
    child.on('message', (message: { type: string; result: PhaseResult }) => {
      if (message.type === 'result') got = message.result;
    });
    child.on('exit', (code) => (got ? resolve(got) : reject(new Error(`phase ${phase} exited with ${code} and no result`))));
  });
}

function table(results: PhaseResult[]): string {
  const header = ['phase', 'guilds', 'connect s', 'events', 'burst s', 'events/s', 'CPU us/ev', 'loop busy', 'sim CPU', 'heap MB', 'heap growth MB', 'RSS MB'];
  const rows = results.map((r) => [
    r.phase,
    String(r.guilds),
    (r.connectMs / 1000).toFixed(2) + (r.connectCommittedMs ? ` (${(r.connectCommittedMs / 1000).toFixed(2)} committed)` : ''),
    String(r.events),
    (r.burstMs / 1000).toFixed(2) + (r.committedMs ? ` (${(r.committedMs / 1000).toFixed(2)} committed)` : ''),
    Math.round(r.eventsPerSecond).toLocaleString('en-US'),
    r.clientCpuUsPerEvent.toFixed(1),
    `${Math.round(r.eventLoopUtilization * 100)}%`,
    `${Math.round(r.simCpuShare * 100)}% (main ${Math.round(r.simMainShare * 100)}%)`,
    r.heapMb.toFixed(1),
    (r.heapMb - r.baselineHeapMb).toFixed(1),
    r.rssMb.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function ratio(name: string, value: number | undefined, goal: string, met: (v: number) => boolean): string {
  if (value === undefined || !Number.isFinite(value)) return `${name}: n/a (phase not run)`;
  return `${name}: ${value.toFixed(2)} (goal ${goal}) ${met(value) ? 'MET' : 'MISSED'}`;
}

/**
 * The client and the simulator share this machine's cores: at 2x discord.js's rate, what is
 * left of them per event for the client, if nothing else ran and no core ever idled.
 */
function budget(s: PhaseResult, djs: PhaseResult): string {
  const target = 2 * djs.eventsPerSecond;
  const cores = availableParallelism();
  const left = (cores * 1e6) / target - s.simCpuUsPerEvent;
  return `CPU budget for 2x discord.js (${Math.round(target).toLocaleString('en-US')} events/s) on ${cores} cores, the simulator taking ${s.simCpuUsPerEvent.toFixed(1)} us/ev: at most ${left.toFixed(1)} us/ev for the client over all its threads; ${s.phase} used ${s.clientCpuUsPerEvent.toFixed(1)}`;
}

async function main(): Promise<void> {
  const unknown = PHASES.filter((p) => !KNOWN_PHASES.includes(p));
  if (unknown.length > 0) throw new Error(`Unknown PHASES ${unknown.join(', ')}; known: ${KNOWN_PHASES.join(', ')}`);
  if (![GUILDS, MEMBERS, SHARDS, EVENTS, WINDOW, CHUNK, ROUNDS].every((n) => Number.isInteger(n) && n > 0)) throw new Error('GUILDS, MEMBERS, SHARDS, EVENTS, WINDOW, CHUNK and ROUNDS must be positive integers');
  if (MODE !== 'replay' && MODE !== 'live') throw new Error(`Unknown MODE ${MODE}; known: replay, live`);
  const gcNote = (globalThis as { gc?: unknown }).gc ? 'gc exposed' : 'gc NOT exposed: run with node --expose-gc --import tsx for clean memory figures';
  console.log(`ingest bench (${MODE} mode): ${GUILDS} guilds x ${MEMBERS} members, ${SHARDS} shards, burst ${EVENTS} events (window ${WINDOW}), seed ${SEED}, node ${process.version}, ${gcNote}`);
  // Rounds run the phases interleaved, so a machine-wide slowdown hits every phase alike; each
  // phase's median round is what the table and the ratios use.
  const runs = new Map<string, PhaseResult[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const phase of PHASES) {
      const r = await runChild(phase);
      console.log(`  ${ROUNDS > 1 ? `round ${round} ` : ''}${phase}: ${Math.round(r.eventsPerSecond).toLocaleString('en-US')} events/s, heap ${r.heapMb.toFixed(1)} MB${r.note ? ` (${r.note})` : ''}${r.threadCpu ? `; CPU us/ev by thread: ${r.threadCpu}` : ''}`);
      runs.set(phase, [...(runs.get(phase) ?? []), r]);
    }
  }
  const results = PHASES.map((phase) => {
    const sorted = [...runs.get(phase)!].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond);
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  });
  if (ROUNDS > 1) {
    for (const phase of PHASES) console.log(`  ${phase} events/s over ${ROUNDS} rounds: ${runs.get(phase)!.map((r) => Math.round(r.eventsPerSecond).toLocaleString('en-US')).join(', ')}`);
  }
  console.log(`\n${ROUNDS > 1 ? 'median round of each phase:\n' : ''}${table(results)}\n`);
  const by = (phase: string): PhaseResult | undefined => results.find((r) => r.phase === phase);
  const raw = by('raw');
  const djs = by('discordjs');
  if (raw && raw.simMainShare >= 0.9) {
    console.log(`note: during raw the simulator's main thread was busy ${Math.round(raw.simMainShare * 100)}% of the burst, so the simulator, not the client, set the raw rate: the real ceiling is at least ${Math.round(raw.eventsPerSecond).toLocaleString('en-US')} events/s`);
  }
  let cacheWrong = false;
  for (const name of ['shardline', 'shardline-json', 'shardline-inline']) {
    const s = by(name);
    if (!s) continue;
    console.log(`${name}: cache equals the world (row counts per table): ${s.cacheEqualsWorld ?? 'n/a'}`);
    if (s.cacheEqualsWorld !== 'yes') cacheWrong = true;
    console.log(ratio(`${name} / discord.js events/s`, djs && s.eventsPerSecond / djs.eventsPerSecond, '>= 2', (v) => v >= 2));
    console.log(ratio(`${name} / discord.js CPU us per event`, djs && s.clientCpuUsPerEvent / djs.clientCpuUsPerEvent, '<= 0.50', (v) => v <= 0.5));
    console.log(ratio(`${name} / raw ceiling events/s`, raw && s.eventsPerSecond / raw.eventsPerSecond, '>= 0.60', (v) => v >= 0.6));
    console.log(ratio(`${name} heap / discord.js heap`, djs && s.heapMb / djs.heapMb, '<= 0.10', (v) => v <= 0.1));
    console.log(ratio(`${name} RSS / discord.js RSS`, djs && s.rssMb / djs.rssMb, '<= 0.50', (v) => v <= 0.5));
    if (djs) console.log(`  ${budget(s, djs)}`);
  }
  // The like-for-like phase (plain JSON, as discord.js and raw get it) is the headline.
  const s = by('shardline-json') ?? by('shardline');
  const round1 = (v: number | undefined): number | null => (v === undefined ? null : Math.round(v * 10) / 10);
  console.log(
    JSON.stringify({
      bench: 'ingest',
      mode: MODE,
      eventsPerSec: s ? Math.round(s.eventsPerSecond) : null,
      discordjsEventsPerSec: djs ? Math.round(djs.eventsPerSecond) : null,
      rawEventsPerSec: raw ? Math.round(raw.eventsPerSecond) : null,
      cpuUsPerEvent: round1(s?.clientCpuUsPerEvent),
      discordjsCpuUsPerEvent: round1(djs?.clientCpuUsPerEvent),
      heapMB: round1(s?.heapMb),
      discordjsHeapMB: round1(djs?.heapMb),
      rssMB: round1(s?.rssMb),
      discordjsRssMB: round1(djs?.rssMb),
    }),
  );
  if (cacheWrong) process.exitCode = 1;
}

const role = process.argv[2];
if (role === 'sim') await runSim();
else if (role !== undefined) await runPhase(role);
else await main();

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FakeDiscord, type FakeDiscordOptions, type LedgerCheck } from '../../src/discord-sim/fake-discord.ts';
import type { HostStatus } from '../../src/host/host-status.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { LiteFsCluster } from './litefs-cluster.ts';
import { REPO_ROOT, type LiteFsTools } from './prerequisites.ts';
import { freePort, tail } from './processes.ts';

export const CLUSTER_SECRET = 'litefs-cluster-secret-0123456789';
export const ADMIN_TOKEN = 'litefs-admin-token-0123456789abc';
/** Each node's dispatch record, relative to the node's dir (LiteFS runs the app there). */
const RECORD_FILE = 'dispatches.jsonl';

/** One line of a node's dispatch record (test/litefs/recording-bot.ts). */
export interface RecordedDispatch {
  readonly shardId: number;
  readonly sessionId: string;
  readonly seq: number;
  readonly t: string;
  /** Date.now() on the node when its bot handled the dispatch (same machine clock as the test). */
  readonly at: number;
  /** The node process that handled it (a restarted node is another process). */
  readonly pid?: number;
  /** The node whose record holds it. */
  readonly node: string;
}

export interface ShardlineClusterOptions {
  readonly tools: LiteFsTools;
  /** Lease hostnames, which are also the shardline node ids. Default n1, n2, n3 (n1 starts first and is primary). */
  readonly hostnames?: readonly string[];
  readonly shards?: number;
  /**
   * SHARDLINE_NODE_TIMEOUT_MS: a node without heartbeats for this long is dead. Default 5000, the
   * production default: 3000 gave false deaths when a loaded 2-core machine stalled every process
   * for ~3 s during a cold start.
   */
  readonly nodeTimeoutMs?: number;
  readonly ttl?: string;
  readonly lockDelay?: string;
  readonly reconnectDelay?: string;
  readonly discord?: FakeDiscordOptions;
  /** Extra environment for every node. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Real shardline nodes on real LiteFS: the simulated Discord runs in this process on loopback;
 * each LiteFS node (scripts/litefs-entrypoint.sh + litefs.yml, leasing through Consul) execs
 * `node --import tsx src/runtime/node-main.ts start` with its settings in the environment and
 * test/litefs/recording-bot.ts as its bot. The entrypoint derives SHARDLINE_LITEFS_URL,
 * SHARDLINE_DATA_DIR (the FUSE mount) and SHARDLINE_NODE_ID (the lease hostname).
 */
export class ShardlineCluster {
  readonly discord: FakeDiscord;
  readonly litefs: LiteFsCluster;
  readonly hostnames: readonly string[];
  readonly shards: number;
  readonly #httpPorts: ReadonlyMap<string, number>;
  readonly #baseline = new Map<number, string>();

  private constructor(discord: FakeDiscord, litefs: LiteFsCluster, hostnames: readonly string[], shards: number, httpPorts: ReadonlyMap<string, number>) {
    this.discord = discord;
    this.litefs = litefs;
    this.hostnames = hostnames;
    this.shards = shards;
    this.#httpPorts = httpPorts;
  }

  static async start(options: ShardlineClusterOptions): Promise<ShardlineCluster> {
    const hostnames = options.hostnames ?? ['n1', 'n2', 'n3'];
    const shards = options.shards ?? 6;
    // Every shard in its own identify bucket, so a cold start is one round of IDENTIFYs; the
    // host still spaces each bucket by Discord's 5 s, which only a second round would pay.
    const discord = new FakeDiscord({
      shards,
      maxConcurrency: shards,
      identifySpacingMs: 20,
      heartbeatIntervalMs: 1_000,
      world: { seed: 11, guilds: 30, membersPerGuild: 8 },
      ...options.discord,
    });
    await discord.start();
    let litefs: LiteFsCluster;
    const ports = new Map<string, number>();
    try {
      const taken = new Set<number>();
      for (const hostname of hostnames) ports.set(hostname, await freePort(taken));
      const tsx = pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
      const exec = `node --import ${tsx} ${join(REPO_ROOT, 'src', 'runtime', 'node-main.ts')} start`;
      litefs = await LiteFsCluster.start({
        tools: options.tools,
        ttl: options.ttl ?? '2s',
        lockDelay: options.lockDelay ?? '500ms',
        reconnectDelay: options.reconnectDelay ?? '200ms',
        keepDir: process.env['SHARDLINE_LITEFS_KEEP'] === '1',
        reservedPorts: [...ports.values()],
        nodes: hostnames.map((hostname) => ({
          hostname,
          exec,
          env: {
            DISCORD_TOKEN: 'fake-token',
            DISCORD_API_URL: discord.restUrl,
            SHARD_COUNT: String(shards),
            SHARDLINE_CLUSTER_SECRET: CLUSTER_SECRET,
            SHARDLINE_ADMIN_TOKEN: ADMIN_TOKEN,
            SHARDLINE_HTTP_HOST: '127.0.0.1',
            SHARDLINE_HTTP_PORT: String(ports.get(hostname)),
            SHARDLINE_ADVERTISE_URL: `http://127.0.0.1:${ports.get(hostname)}`,
            SHARDLINE_NODE_TIMEOUT_MS: String(options.nodeTimeoutMs ?? 5_000),
            SHARDLINE_FLUSH_MS: '20',
            SHARDLINE_LOG_LEVEL: 'info',
            SHARDLINE_BOT: join(REPO_ROOT, 'test', 'litefs', 'recording-bot.ts'),
            SHARDLINE_TEST_RECORD: RECORD_FILE,
            ...options.env,
          },
        })),
      });
    } catch (error) {
      await discord.close();
      throw error;
    }
    return new ShardlineCluster(discord, litefs, hostnames, shards, ports);
  }

  /** The node's shardline HTTP API (admin and internal routes). */
  url(hostname: string): string {
    const port = this.#httpPorts.get(hostname);
    if (port === undefined) throw new Error(`No shardline node "${hostname}" (nodes: ${this.hostnames.join(', ')})`);
    return `http://127.0.0.1:${port}`;
  }

  /** An admin request; the body parsed as JSON (or `{text}` when it is not JSON). */
  async admin(hostname: string, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 60_000): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${this.url(hostname)}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    try {
      return { status: response.status, json: JSON.parse(text) as Record<string, unknown> };
    } catch {
      return { status: response.status, json: { text } };
    }
  }

  async status(hostname: string): Promise<HostStatus> {
    const { status, json } = await this.admin(hostname, 'GET', '/status', undefined, 5_000);
    if (status !== 200) throw new Error(`GET /status on ${hostname} answered ${status}: ${JSON.stringify(json)}`);
    return json as unknown as HostStatus;
  }

  /** GET /status, or null while the node does not answer. */
  async tryStatus(hostname: string): Promise<HostStatus | null> {
    try {
      return await this.status(hostname);
    } catch {
      return null;
    }
  }

  /** POST /query on the node: read-only SQL against its own database (its LiteFS replica). */
  async query(hostname: string, sql: string): Promise<unknown[][]> {
    const { status, json } = await this.admin(hostname, 'POST', '/query', { sql }, 10_000);
    if (status !== 200) throw new Error(`POST /query on ${hostname} answered ${status}: ${JSON.stringify(json)}`);
    return json['rows'] as unknown[][];
  }

  /** Every dispatch every node's bot handled so far (from the record files), in file order per node. */
  records(): RecordedDispatch[] {
    return this.hostnames.flatMap((node) => {
      const path = join(this.litefs.dir, node, RECORD_FILE);
      if (!existsSync(path)) return [];
      // A line being written right now may be incomplete: only whole lines count.
      const text = readFileSync(path, 'utf8');
      const whole = text.slice(0, text.lastIndexOf('\n') + 1);
      return whole.split('\n').filter((l) => l !== '').map((line) => ({ ...(JSON.parse(line) as Omit<RecordedDispatch, 'node'>), node }));
    });
  }

  /**
   * From now on the ledger starts at each shard's current session. A cold start on a loaded
   * machine can stall every process for seconds and end in a false failover by IDENTIFY; the
   * session left behind keeps collecting dispatches nobody resumes, which is not what a
   * scenario after the start is about (the boot test checks the start itself).
   */
  markBaseline(): void {
    this.#baseline.clear();
    for (let s = 0; s < this.shards; s++) {
      const open = this.discord.connections(s).filter((c) => c.open && c.sessionId !== null);
      if (open.length !== 1) throw new Error(`Cannot mark the ledger baseline: shard ${s} has ${open.length} open sessions`);
      this.#baseline.set(s, open[0]!.sessionId!);
    }
  }

  /** The simulator's ledger against every node's record, per shard (from the baseline sessions on, once marked). */
  ledgerChecks(records: readonly RecordedDispatch[] = this.records()): LedgerCheck[] {
    return Array.from({ length: this.shards }, (_, s) => this.discord.ledger.check(s, this.#sinceBaseline(s, records.filter((r) => r.shardId === s))));
  }

  #sinceBaseline(shardId: number, records: readonly RecordedDispatch[]): readonly RecordedDispatch[] {
    const baseline = this.#baseline.get(shardId);
    if (baseline === undefined) return records;
    // Sessions in creation order: the ledger keeps them so.
    const order = [...new Set(this.discord.ledger.events(shardId).map((e) => e.sessionId))];
    const from = order.indexOf(baseline);
    return records.filter((r) => order.indexOf(r.sessionId) >= from);
  }

  /** How many dispatches the simulator sequenced over every shard. */
  sequenced(): number {
    let total = 0;
    for (let s = 0; s < this.shards; s++) total += this.discord.ledger.eventCount(s);
    return total;
  }

  /** Stops the traffic and waits until every sequenced dispatch was handled somewhere. */
  async drainTraffic(timeoutMs = 30_000): Promise<RecordedDispatch[]> {
    this.discord.traffic.stop();
    return waitFor(() => {
      const records = this.records();
      const checks = this.ledgerChecks(records);
      return checks.every((c) => c.lost.length === 0) ? records : null;
    }, { timeoutMs, intervalMs: 100, message: 'every sequenced dispatch handled by some node' }).catch((error: unknown) => {
      const lost = this.ledgerChecks().map((c, s) => `shard ${s}: ${c.lost.length} of ${c.expected} missing${c.lost[0] ? ` (first ${c.lost[0].sessionId}#${c.lost[0].seq})` : ''}`);
      throw new Error(`${(error as Error).message}\n${lost.join('\n')}`, { cause: error });
    });
  }

  /** Which nodes report each shard `ready` in their own GET /status. */
  async readyShards(hostnames: readonly string[] = this.liveHostnames()): Promise<Map<number, string[]>> {
    return readyOwners(await Promise.all(hostnames.map((h) => this.status(h))));
  }

  liveHostnames(): string[] {
    return this.hostnames.filter((h) => this.litefs.running(h));
  }

  /**
   * Waits until every live node answers, knows a primary and every live node, and every shard
   * is ready on exactly one node; with `spread`, on every live node at least one.
   */
  async settled(options: { spread?: boolean; timeoutMs?: number } = {}): Promise<Map<number, string[]>> {
    let last = '';
    return waitFor(async () => {
      const live = this.liveHostnames();
      const statuses = await Promise.all(live.map((h) => this.status(h)));
      last = statuses.map((s) => `${s.node.id}(${s.node.role}): ${s.shards.map((r) => `${r.shardId}:${r.status}`).join(' ')}`).join(' | ');
      if (statuses.some((s) => s.node.role === 'unknown' || s.nodes.length < live.length)) return null;
      const owners = readyOwners(statuses);
      const exact = Array.from({ length: this.shards }, (_, s) => owners.get(s)?.length === 1).every(Boolean);
      if (!exact) return null;
      if (options.spread && !live.every((h) => [...owners.values()].some((o) => o[0] === h))) return null;
      return owners;
    }, { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 100, message: `cluster settled${options.spread ? ' and spread' : ''}` }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; last seen: ${last}`, { cause: error });
    });
  }

  /**
   * Throws unless every named node's LiteFS still runs (a fatal LiteFS error exits it, code 99
   * for a WAL commit that lost write access), with the exit code and the tail of its log.
   */
  assertRunning(hostnames: readonly string[] = this.hostnames): void {
    const dead = hostnames.filter((h) => !this.litefs.running(h));
    if (dead.length === 0) return;
    throw new Error(dead.map((h) => `LiteFS on ${h} is not running (exit ${String(this.litefs.lastExit(h))}); log tail:\n${tail(this.litefs.node(h).logPath, 15)}`).join('\n'));
  }

  /** The node's LiteFS log, which carries its app's output too. */
  log(hostname: string): string {
    try {
      return readFileSync(this.litefs.node(hostname).logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** Crash: SIGKILL of the node's LiteFS and its shardline process. */
  kill(hostname: string): Promise<void> {
    return this.litefs.kill(hostname);
  }

  /** A platform's stop (SIGTERM to LiteFS alone, SIGKILL after `killAfterMs`); see LiteFsCluster.terminate. */
  terminate(hostname: string, killAfterMs: number): ReturnType<LiteFsCluster['terminate']> {
    return this.litefs.terminate(hostname, { killAfterMs });
  }

  /** Starts a stopped or killed node again (same dirs and ports) and waits until its API answers. */
  async restart(hostname: string): Promise<void> {
    await this.litefs.restart(hostname);
    await waitFor(() => this.tryStatus(hostname), { timeoutMs: 60_000, intervalMs: 100, message: `${hostname}'s API answers after the restart` });
  }

  /** Teardown: every node is killed first (a graceful stop of all nodes at once waits out flush timeouts). */
  async close(): Promise<void> {
    this.discord.traffic.stop();
    try {
      await Promise.allSettled(this.liveHostnames().map((h) => this.litefs.kill(h)));
      await this.litefs.close();
    } finally {
      await this.discord.close();
    }
  }
}

function readyOwners(statuses: readonly HostStatus[]): Map<number, string[]> {
  const owners = new Map<number, string[]>();
  for (const status of statuses) {
    for (const shard of status.shards) if (shard.status === 'ready') owners.set(shard.shardId, [...(owners.get(shard.shardId) ?? []), status.node.id]);
  }
  return owners;
}

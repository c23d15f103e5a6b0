import { rmSync } from 'node:fs';
import type { BotDefinition } from '../../src/bot.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { FakeDiscord, type FakeDiscordOptions } from '../../src/discord-sim/fake-discord.ts';
import { Host, type HostOptions } from '../../src/host.ts';
import type { RestBudgetSettings } from '../../src/host/rest-budget-host.ts';
import { SimLiteFs } from '../../src/litefs-sim/sim-litefs.ts';
import type { SimLiteFsNode } from '../../src/litefs-sim/sim-litefs-node.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { captureLogger } from './log-sink.ts';
import { recordingBot, tempDir, type Recorded } from './test-host.ts';

export const CLUSTER_SECRET = 'cluster-secret-for-tests-0123456789';
export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

export interface SimClusterNode {
  readonly id: string;
  readonly litefs: SimLiteFsNode;
  host: Host;
  /** Node-to-node HTTP of this node fails while true (a partition from the primary's API). */
  partitioned: boolean;
}

/**
 * Several shardline nodes in one process: a simulated Discord, a simulated LiteFS cluster,
 * and one Host per LiteFS node, each on its own ephemeral port and mount directory.
 */
export class SimCluster {
  readonly discord: FakeDiscord;
  readonly litefs: SimLiteFs;
  readonly nodes = new Map<string, SimClusterNode>();
  readonly recorded: Recorded[] = [];
  readonly log = captureLogger('info');
  readonly #dir = tempDir('shardline-cluster-');
  readonly #bot: BotDefinition;
  readonly #options: SimClusterOptions;

  constructor(options: SimClusterOptions = {}) {
    this.#options = options;
    this.discord = new FakeDiscord({ identifySpacingMs: 50, heartbeatIntervalMs: 1_000, world: { seed: 9, guilds: 24, membersPerGuild: 10 }, ...options.discord });
    this.litefs = new SimLiteFs({ dir: this.#dir, driverFactory: betterSqlite3Driver, ttlMs: options.leaseTtlMs ?? 1_000, lockDelayMs: 100, lagMs: 5 });
    this.#bot = options.bot ?? recordingBot(undefined, this.recorded);
  }

  async start(nodeIds: readonly string[]): Promise<this> {
    if (!this.#options.discordApiUrl) await this.discord.start();
    this.litefs.start();
    for (const id of nodeIds) {
      const litefs = this.litefs.addNode(id);
      await litefs.start();
    }
    await Promise.all(nodeIds.map((id) => this.startHost(id)));
    return this;
  }

  async startHost(id: string): Promise<SimClusterNode> {
    const litefs = this.litefs.node(id);
    if (!litefs.alive) await litefs.start();
    const existing = this.nodes.get(id);
    const node: SimClusterNode = existing ?? { id, litefs, host: null as unknown as Host, partitioned: false };
    const config = loadConfig({
      env: {
        DISCORD_TOKEN: 'fake-token',
        DISCORD_API_URL: this.#options.discordApiUrl ?? this.discord.restUrl,
        SHARDLINE_DATA_DIR: litefs.mountDir,
        SHARDLINE_HTTP_PORT: '0',
        SHARDLINE_NODE_ID: id,
        SHARDLINE_LITEFS_URL: litefs.url,
        SHARDLINE_CLUSTER_SECRET: CLUSTER_SECRET,
        SHARDLINE_ADMIN_TOKEN: ADMIN_TOKEN,
        SHARDLINE_FLUSH_MS: '20',
        SHARDLINE_NODE_TIMEOUT_MS: String(this.#options.nodeTimeoutMs ?? 1_500),
        ...(this.#options.shardCount ? { SHARD_COUNT: String(this.#options.shardCount) } : {}),
        ...this.#options.env,
      },
    });
    // A partition cuts both directions of node-to-node HTTP; LiteFS replication keeps flowing.
    const partitionedFetch: typeof fetch = (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      const cut = node.partitioned || [...this.nodes.values()].some((n) => n.partitioned && n.host?.url && url.startsWith(n.host.url));
      if (cut) return Promise.reject(new TypeError('fetch failed: simulated partition'));
      const hook = this.#options.afterFetch;
      return hook ? fetch(input, init).then(async (response) => (await hook(id, url, response), response)) : fetch(input, init);
    };
    node.host = new Host({
      config,
      runtime: createNodeRuntime(),
      bot: this.#options.botFor?.(id) ?? this.#bot,
      logger: this.log.logger.child({ node: id }),
      sqlite: litefs.driverFactory,
      fetch: partitionedFetch,
      identifySpacingMs: this.#options.identifySpacingMs ?? 50,
      cluster: { heartbeatMs: 200, reconcileMs: 50, tickMs: 50, settleMs: 300, maxConcurrentHandoffs: 2, ...this.#options.timing },
      shardTuning: { invalidSessionDelayMs: { min: 10, max: 50 }, backoffBaseMs: 50, backoffCapMs: 500 },
      // Each node names itself to the simulator, which counts invalid requests per node as Discord does per IP.
      rest: { nodeHeader: true, ...this.#options.rest },
      ...(this.#options.reshard ? { reshard: this.#options.reshard } : {}),
    });
    this.nodes.set(id, node);
    await node.host.start();
    return node;
  }

  node(id: string): SimClusterNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  primary(): SimClusterNode | undefined {
    return [...this.nodes.values()].find((n) => n.host.isPrimary);
  }

  /** Which node runs each shard right now (from the hosts themselves, not the tables). */
  running(): Map<number, string[]> {
    const result = new Map<number, string[]>();
    for (const node of this.nodes.values()) {
      for (const runner of node.host.runners()) {
        if (runner.shard.status === 'stopped' || runner.shard.status === 'detached') continue;
        result.set(runner.shardId, [...(result.get(runner.shardId) ?? []), node.id]);
      }
    }
    return result;
  }

  /** Every node's view, for a failing test's message: role, shards and why it is not ready. */
  dump(): string {
    const lines: string[] = [];
    for (const node of this.nodes.values()) {
      const status = node.host.status();
      lines.push(`${node.id} ${status.node.role} primary=${status.node.primary} nodes=[${status.nodes.map((n) => n.id).join(',')}] runners=[${node.host.runners().map((r) => `${r.shardId}@${r.epoch}:${r.shard.status}`).join(' ')}] not-ready=[${node.host.readiness().reasons.join('; ')}]`);
      const coordinator = node.host.primary?.coordinator;
      if (coordinator) lines.push(`  assignments: ${[...coordinator.assignments().values()].map((a) => `${a.shardId}->${a.nodeId}@${a.epoch}/${a.state}`).join(' ')}`);
    }
    const warnings = this.log.text().split('\n').filter((l) => /"level":(40|50)/.test(l)).slice(-12);
    return `${lines.join('\n')}\nlast warnings:\n${warnings.join('\n')}`;
  }

  /** Crash: the host stops without committing anything, and its LiteFS dies (lease not released). */
  async kill(id: string): Promise<void> {
    const node = this.node(id);
    await node.host.kill();
    await node.litefs.kill();
  }

  async close(): Promise<void> {
    this.discord.traffic.stop();
    // Replicas first, so their last writes still reach a primary.
    const nodes = [...this.nodes.values()].sort((a, b) => Number(a.host.isPrimary) - Number(b.host.isPrimary));
    for (const node of nodes) await node.host.close().catch(() => {});
    await this.litefs.close();
    if (!this.#options.discordApiUrl) await this.discord.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export interface SimClusterOptions {
  readonly discord?: FakeDiscordOptions;
  readonly shardCount?: number;
  readonly nodeTimeoutMs?: number;
  readonly leaseTtlMs?: number;
  readonly identifySpacingMs?: number;
  readonly bot?: BotDefinition;
  /** A bot per node (benchmarks record which node handled what). */
  readonly botFor?: (nodeId: string) => BotDefinition;
  /** Heartbeat, reconcile and coordinator tick of every host (defaults are test-fast). */
  readonly timing?: { heartbeatMs?: number; reconcileMs?: number; tickMs?: number; settleMs?: number; maxConcurrentHandoffs?: number; maxConcurrentDrainMoves?: number };
  /** Settings of every node, over the test-fast ones (benchmarks set SHARDLINE_FLUSH_MS back to its default, say). */
  readonly env?: Readonly<Record<string, string>>;
  /** The REST budget's host settings of every node. */
  readonly rest?: RestBudgetSettings;
  /**
   * A simulated Discord running elsewhere (another process, as Discord is elsewhere): the nodes
   * use it and `discord` stays unused. Default: `discord`, in this process.
   */
  readonly discordApiUrl?: string;
  /** Reshard tuning of every node (burst timeout, overlap). */
  readonly reshard?: HostOptions['reshard'];
  /** Runs after a node-to-node request answered, before the calling node sees the answer (a test's moment to act mid-protocol). */
  readonly afterFetch?: (from: string, url: string, response: Response) => Promise<void> | void;
}

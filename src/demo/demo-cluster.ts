import { join } from 'node:path';
import type { BotDefinition } from '../bot.ts';
import { loadConfig } from '../config/load-config.ts';
import { sleep } from '../core/abort.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import type { Runtime } from '../core/runtime.ts';
import { FakeDiscord } from '../discord-sim/fake-discord.ts';
import { Host } from '../host.ts';
import { SimLiteFs } from '../litefs-sim/sim-litefs.ts';
import { silentLogger } from '../log/create-logger.ts';

export interface DemoClusterOptions {
  readonly runtime: Pick<Runtime, 'transport' | 'sqlite' | 'serve'>;
  /** Where the databases go: one mount per node under it (a single node uses it directly). */
  readonly dataDir: string;
  /** Nodes; 1 runs today's embedded node without LiteFS. Default 3. */
  readonly nodes?: number;
  /** HTTP port of the first node, the next ones +1; 0 picks free ones. Default 0. */
  readonly port?: number;
  readonly shards?: number;
  readonly guilds?: number;
  readonly members?: number;
  /** Default: a random one. At least 16 characters. */
  readonly adminToken?: string;
  readonly logger?: Logger;
  /** The bot of each node; default none. */
  readonly bot?: (nodeId: string) => BotDefinition;
}

export interface DemoNode {
  readonly id: string;
  readonly host: Host;
  /** Base URL of the node's HTTP API; its dashboard is `${url}/`. */
  readonly url: string;
  /** The directory holding this node's database (its simulated LiteFS mount). */
  readonly dataDir: string;
}

export interface DemoProgress {
  readonly total: number;
  readonly ready: number;
  /** Shards ready on each node, by node id. */
  readonly byNode: ReadonlyMap<string, number>;
}

/**
 * The demo as a product: a simulated Discord, a simulated LiteFS cluster, and one Host per
 * node in this process, each with its own HTTP API. `start()` returns once every shard is
 * ready somewhere; `close()` stops replicas first so their last writes reach the primary.
 * Only the demo uses the simulated LiteFS; production nodes talk to a real one.
 */
export class DemoCluster {
  readonly discord: FakeDiscord;
  readonly adminToken: string;
  readonly #o: DemoClusterOptions;
  readonly #litefs: SimLiteFs | null;
  readonly #clusterSecret = `demo-cluster-${randomWord()}`;
  readonly #nodes: DemoNode[] = [];
  readonly #closing = new AbortController();
  #state: 'new' | 'starting' | 'running' | 'closed' = 'new';

  constructor(options: DemoClusterOptions) {
    const nodes = options.nodes ?? 3;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 26) throw new ShardlineError('INVALID_INPUT', `A demo cluster has 1 to 26 nodes, got ${nodes}`);
    this.#o = options;
    this.adminToken = options.adminToken ?? `demo-${randomWord()}`;
    const shards = options.shards ?? 4;
    this.discord = new FakeDiscord({
      shards,
      maxConcurrency: shards,
      world: { seed: 42, guilds: options.guilds ?? 40, membersPerGuild: options.members ?? 50 },
    });
    this.#litefs = nodes === 1 ? null : new SimLiteFs({ dir: options.dataDir, driverFactory: options.runtime.sqlite });
  }

  get nodes(): readonly DemoNode[] {
    return this.#nodes;
  }

  /** Node ids in start order: `node-a`, `node-b`, ... (`demo-node` when alone). */
  get nodeIds(): readonly string[] {
    const count = this.#o.nodes ?? 3;
    return count === 1 ? ['demo-node'] : Array.from({ length: count }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
  }

  node(id: string): DemoNode {
    const node = this.#nodes.find((n) => n.id === id);
    if (!node) throw new ShardlineError('NOT_FOUND', `No demo node ${id}; nodes are ${this.nodeIds.join(', ')}`);
    return node;
  }

  primary(): DemoNode | null {
    return this.#nodes.find((n) => n.host.isPrimary) ?? null;
  }

  /** Every shard, counted once, on the node that runs it. */
  progress(): DemoProgress {
    const byNode = new Map<string, number>();
    const ready = new Set<number>();
    for (const node of this.#nodes) {
      let count = 0;
      for (const runner of node.host.runners()) {
        if (runner.shard.status !== 'ready') continue;
        ready.add(runner.shardId);
        count++;
      }
      byNode.set(node.id, count);
    }
    return { total: this.#nodes[0]?.host.shardCount ?? 0, ready: ready.size, byNode };
  }

  /** Starts everything and waits (up to `timeoutMs`) until every shard is ready on some node. */
  async start(options: { timeoutMs?: number; onProgress?: (progress: DemoProgress) => void } = {}): Promise<void> {
    if (this.#state !== 'new') throw new ShardlineError('CONFLICT', `Cannot start the demo cluster: it is ${this.#state}`);
    this.#state = 'starting';
    const signal = this.#closing.signal;
    await this.discord.start();
    if (this.#litefs) {
      this.#litefs.start();
      for (const id of this.nodeIds) await this.#litefs.addNode(id).start();
    }
    const base = this.#o.port ?? 0;
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (const [i, id] of this.nodeIds.entries()) {
      if (signal.aborted) throw new ShardlineError('CLOSED', 'Demo cluster closed while starting');
      const host = this.#createHost(id, base === 0 ? 0 : base + i);
      // Listed before it starts, so a close() meanwhile stops it too.
      this.#nodes.push({ id, host, dataDir: host.config.dataDir, get url() { return host.url ?? ''; } });
      const off = host.on('progress', () => {
        if (this.#state === 'starting') options.onProgress?.(this.progress());
        else off();
      });
      await host.start();
      // The first node takes the lease and records its URL before the others join, so they
      // find the primary at their first heartbeat (not "no primary", nor a URL of a past run).
      if (this.#litefs && i === 0) {
        await this.#until(() => host.isPrimary && host.status().nodes.some((n) => n.id === id && n.url === host.url), 'the first node to become primary', deadline, signal);
      }
    }
    await this.#until(
      () => {
        const progress = this.progress();
        return progress.total > 0 && progress.ready === progress.total;
      },
      'every shard to be ready',
      deadline,
      signal,
    );
    this.#state = 'running';
  }

  async #until(condition: () => boolean, what: string, deadline: number, signal: AbortSignal): Promise<void> {
    while (!condition()) {
      if (Date.now() > deadline) {
        const p = this.progress();
        throw new ShardlineError('TIMEOUT', `Demo cluster gave up waiting for ${what}: ${p.ready}/${p.total} shards ready, primary ${this.primary()?.id ?? 'none'}`);
      }
      await sleep(50, signal);
    }
  }

  #createHost(id: string, port: number): Host {
    const litefs = this.#litefs?.node(id) ?? null;
    const config = loadConfig({
      env: {
        DISCORD_TOKEN: 'fake-token',
        DISCORD_API_URL: this.discord.restUrl,
        SHARDLINE_DATA_DIR: litefs ? litefs.mountDir : this.#o.dataDir,
        SHARDLINE_HTTP_PORT: String(port),
        SHARDLINE_ADMIN_TOKEN: this.adminToken,
        SHARDLINE_NODE_ID: id,
        ...(litefs ? { SHARDLINE_LITEFS_URL: litefs.url, SHARDLINE_CLUSTER_SECRET: this.#clusterSecret } : {}),
      },
    });
    return new Host({
      config,
      runtime: this.#o.runtime,
      logger: (this.#o.logger ?? silentLogger()).child({ node: id }),
      ...(this.#o.bot ? { bot: this.#o.bot(id) } : {}),
      ...(litefs ? { sqlite: litefs.driverFactory, cluster: { heartbeatMs: 500, reconcileMs: 250, tickMs: 250, settleMs: 1_000, maxConcurrentHandoffs: 2 } } : {}),
    });
  }

  /** Graceful: shards detach resumably; replicas stop before the primary. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closing.abort(new ShardlineError('CLOSED', 'demo cluster closing'));
    this.discord.traffic.stop();
    // A host cannot be closed halfway through its own start; that part takes milliseconds.
    const deadline = Date.now() + 10_000;
    while (this.#nodes.some((n) => n.host.status().node.state === 'starting') && Date.now() < deadline) await sleep(20);
    const order = [...this.#nodes].sort((a, b) => Number(a.host.isPrimary) - Number(b.host.isPrimary));
    for (const node of order) await node.host.close();
    await this.#litefs?.close();
    await this.discord.close();
  }

  /** The database path of each node, for the stop message. */
  databases(): string[] {
    return this.#nodes.map((n) => join(n.dataDir, n.host.config.dbFile));
  }
}

/** 20 hex digits from the platform's CSPRNG (the admin token guards takeover and moves). */
function randomWord(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(10)), (b) => b.toString(16).padStart(2, '0')).join('');
}

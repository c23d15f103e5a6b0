/**
 * A cluster of shardline nodes inside one Deno process: the simulated Discord, a simulated
 * LiteFS over node:sqlite, and one Host per node on the Deno runtime (Deno.serve, ws through
 * npm compatibility). The Deno twin of test/helpers/sim-cluster.ts, which imports the Node
 * runtime and better-sqlite3 and so cannot load here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { BotDefinition } from '../../src/bot.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Runtime } from '../../src/core/runtime.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { Host } from '../../src/host.ts';
import { SimLiteFs } from '../../src/litefs-sim/sim-litefs.ts';
import type { SimLiteFsNode } from '../../src/litefs-sim/sim-litefs-node.ts';
import { createDenoRuntime } from '../../src/runtime/deno-runtime.ts';
import { captureLogger } from '../helpers/log-sink.ts';

export const CLUSTER_SECRET = 'cluster-secret-for-deno-tests-0123456789';
export const ADMIN_TOKEN = 'admin-token-for-deno-tests-0123456789';

/** What the bot handled, in the shape the simulator's ledger checks. */
export interface Handled {
  readonly shardId: number;
  readonly sessionId: string;
  readonly seq: number;
}

export const CACHE_INTENTS =
  GatewayIntentBits.Guilds |
  GatewayIntentBits.GuildMembers |
  GatewayIntentBits.GuildModeration |
  GatewayIntentBits.GuildExpressions |
  GatewayIntentBits.GuildVoiceStates |
  GatewayIntentBits.GuildPresences |
  GatewayIntentBits.GuildMessages |
  GatewayIntentBits.MessageContent;

export function recordingBot(into: Handled[]): BotDefinition {
  return {
    intents: CACHE_INTENTS,
    onDispatch(event) {
      if (event.seq !== null) into.push({ shardId: event.shardId, sessionId: event.sessionId, seq: event.seq });
    },
  };
}

export interface DenoClusterNode {
  readonly id: string;
  readonly litefs: SimLiteFsNode;
  readonly host: Host;
}

export class DenoCluster {
  readonly runtime: Runtime = createDenoRuntime();
  readonly discord: FakeDiscord;
  readonly litefs: SimLiteFs;
  readonly nodes = new Map<string, DenoClusterNode>();
  readonly handled: Handled[] = [];
  readonly log = captureLogger('info');
  readonly #dir = mkdtempSync(join(tmpdir(), 'shardline-deno-cluster-'));
  readonly #shardCount: number;

  constructor(options: { shardCount: number }) {
    this.#shardCount = options.shardCount;
    this.discord = new FakeDiscord({
      shards: options.shardCount,
      maxConcurrency: options.shardCount,
      identifySpacingMs: 50,
      heartbeatIntervalMs: 1_000,
      world: { seed: 11, guilds: 24, membersPerGuild: 10 },
    });
    this.litefs = new SimLiteFs({ dir: this.#dir, driverFactory: this.runtime.sqlite, ttlMs: 1_000, lockDelayMs: 100, lagMs: 5 });
  }

  async start(ids: readonly string[]): Promise<this> {
    await this.discord.start();
    this.litefs.start();
    for (const id of ids) await this.litefs.addNode(id).start();
    // The first node takes the lease and records itself before the others join.
    await this.#startHost(ids[0]!);
    await Promise.all(ids.slice(1).map((id) => this.#startHost(id)));
    return this;
  }

  async #startHost(id: string): Promise<void> {
    const litefs = this.litefs.node(id);
    const config = loadConfig({
      env: {
        DISCORD_TOKEN: 'fake-token',
        DISCORD_API_URL: this.discord.restUrl,
        SHARDLINE_DATA_DIR: litefs.mountDir,
        SHARDLINE_HTTP_HOST: '127.0.0.1',
        SHARDLINE_HTTP_PORT: '0',
        SHARDLINE_NODE_ID: id,
        SHARDLINE_LITEFS_URL: litefs.url,
        SHARDLINE_CLUSTER_SECRET: CLUSTER_SECRET,
        SHARDLINE_ADMIN_TOKEN: ADMIN_TOKEN,
        SHARDLINE_FLUSH_MS: '20',
        SHARDLINE_NODE_TIMEOUT_MS: '1500',
        SHARD_COUNT: String(this.#shardCount),
      },
    });
    const host = new Host({
      config,
      runtime: this.runtime,
      bot: recordingBot(this.handled),
      logger: this.log.logger.child({ node: id }),
      sqlite: litefs.driverFactory,
      identifySpacingMs: 50,
      cluster: { heartbeatMs: 200, reconcileMs: 50, tickMs: 50, settleMs: 300, maxConcurrentHandoffs: 2 },
      shardTuning: { invalidSessionDelayMs: { min: 10, max: 50 }, backoffBaseMs: 50, backoffCapMs: 500 },
    });
    this.nodes.set(id, { id, litefs, host });
    await host.start();
  }

  node(id: string): DenoClusterNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  primary(): DenoClusterNode | undefined {
    return [...this.nodes.values()].find((n) => n.host.isPrimary);
  }

  /** Which nodes run each shard right now, from the hosts themselves. */
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

  /** An admin call over HTTP, as an operator would make it. */
  async admin(id: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.node(id).host.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  async close(): Promise<void> {
    this.discord.traffic.stop();
    // Replicas first, so their last writes still reach a primary.
    const nodes = [...this.nodes.values()].sort((a, b) => Number(a.host.isPrimary) - Number(b.host.isPrimary));
    for (const node of nodes) await node.host.close().catch(() => {});
    await this.litefs.close();
    await this.discord.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

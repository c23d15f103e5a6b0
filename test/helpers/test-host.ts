import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { BotDefinition, DispatchEvent } from '../../src/bot.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Logger } from '../../src/core/ports.ts';
import type { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { Host, type HostOptions } from '../../src/host.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';

export function tempDir(prefix = 'shardline-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Every dispatch a bot saw, in the shape the simulator's ledger checks. */
export interface Recorded {
  readonly shardId: number;
  readonly sessionId: string;
  readonly seq: number;
  readonly t: string;
}

/** The intents a caching bot asks for: everything the cache tables hold. */
export const CACHE_INTENTS =
  GatewayIntentBits.Guilds |
  GatewayIntentBits.GuildMembers |
  GatewayIntentBits.GuildModeration |
  GatewayIntentBits.GuildExpressions |
  GatewayIntentBits.GuildVoiceStates |
  GatewayIntentBits.GuildPresences |
  GatewayIntentBits.GuildMessages |
  GatewayIntentBits.MessageContent;

/** A bot that records what it handled, for ledger checks. */
export function recordingBot(intents: number = CACHE_INTENTS, into: Recorded[] = []): BotDefinition & { recorded: Recorded[] } {
  return {
    intents,
    recorded: into,
    onDispatch(event: DispatchEvent) {
      if (event.seq !== null) into.push({ shardId: event.shardId, sessionId: event.sessionId, seq: event.seq, t: event.t });
    },
  };
}

export function handledBy(recorded: readonly Recorded[], shardId: number): { sessionId: string; seq: number }[] {
  return recorded.filter((r) => r.shardId === shardId).map((r) => ({ sessionId: r.sessionId, seq: r.seq }));
}

/** A host against the simulator: fast identify spacing, no HTTP unless asked. */
export function testHost(
  discord: FakeDiscord,
  options: { dataDir: string; bot?: BotDefinition; logger?: Logger; env?: Record<string, string>; nodeId?: string } & Partial<Omit<HostOptions, 'config'>>,
): Host {
  const config = loadConfig({
    env: {
      DISCORD_TOKEN: 'fake-token',
      DISCORD_API_URL: discord.restUrl,
      SHARDLINE_DATA_DIR: options.dataDir,
      SHARDLINE_HTTP_PORT: '0',
      SHARDLINE_NODE_ID: options.nodeId ?? 'node-1',
      SHARDLINE_FLUSH_MS: '20',
      ...options.env,
    },
  });
  return new Host({
    config,
    runtime: createNodeRuntime(),
    serveHttp: false,
    identifySpacingMs: 20,
    shardTuning: { invalidSessionDelayMs: { min: 10, max: 50 }, backoffBaseMs: 50, backoffCapMs: 500 },
    ...options,
  });
}

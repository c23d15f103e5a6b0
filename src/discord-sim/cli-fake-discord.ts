import { parseArgs } from 'node:util';
import { ShardlineError, isShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import { FakeDiscord } from './fake-discord.ts';
import type { FakeDiscordOptions } from './fake-discord.ts';

export interface FakeDiscordCommandIo {
  /** Writes one line to standard output (no trailing newline needed). */
  stdout(line: string): void;
  stderr(line: string): void;
  /** Serving stops when this aborts (the CLI wires it to SIGINT/SIGTERM). */
  signal: AbortSignal;
  logger?: Logger;
}

export const FAKE_DISCORD_USAGE = `Usage: shardline fake-discord [options]

Runs the simulated Discord (REST + gateway on one port) until interrupted.
The first line printed is the REST base URL (use it as discord.js "rest.api").

Options:
  --port <n>               port to listen on (default 0: ephemeral)
  --host <addr>            address to bind (default 127.0.0.1)
  --guilds <n>             guilds in the world (default 10)
  --members <n>            members per guild (default 20)
  --shards <n>             lowest shard count /gateway/bot recommends (default 1)
  --guilds-per-shard <n>   /gateway/bot recommends one shard per this many guilds (default 1000)
  --max-guilds-per-shard <n> an IDENTIFY covering more guilds is closed with 4011 (default 2500)
  --shard-multiple <n>     large bot: shard counts must be a multiple of this, else 4010 (default 1)
  --max-concurrency <n>    session_start_limit.max_concurrency (default 1)
  --identify-spacing-ms <n> spacing per identify bucket (default 5000)
  --heartbeat-ms <n>       HELLO heartbeat interval (default 41250)
  --events-per-second <n>  background traffic rate, 0 for none (default 0)
  --seed <n>               world and traffic seed (default 1)
  --token <token>          accepted bot token (default fake-token)
  --global-limit <n>       REST requests per second per token (default 50)
  --invalid-limit <n>      401/403/429 answers per client within the window before a ban (default 10000)
  --invalid-window-ms <n>  window of the invalid-request count (default 600000)
  --ban-ms <n>             how long a ban lasts (default 3600000)
  -h, --help               show this help`;

function integer(flag: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ShardlineError('INVALID_INPUT', `Invalid --${flag} ${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
  }
  return value;
}

export interface ParsedFakeDiscordArgs {
  help: boolean;
  options: FakeDiscordOptions;
  eventsPerSecond: number;
}

export function parseFakeDiscordArgs(argv: string[]): ParsedFakeDiscordArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        guilds: { type: 'string' },
        members: { type: 'string' },
        shards: { type: 'string' },
        'guilds-per-shard': { type: 'string' },
        'max-guilds-per-shard': { type: 'string' },
        'shard-multiple': { type: 'string' },
        'max-concurrency': { type: 'string' },
        'identify-spacing-ms': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        'events-per-second': { type: 'string' },
        seed: { type: 'string' },
        token: { type: 'string' },
        'global-limit': { type: 'string' },
        'invalid-limit': { type: 'string' },
        'invalid-window-ms': { type: 'string' },
        'ban-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new ShardlineError('INVALID_INPUT', `Invalid arguments for fake-discord: ${(error as Error).message}`);
  }
  const str = (name: string): string | undefined => values[name] as string | undefined;
  const token = str('token');
  if (token !== undefined && token.trim() === '') throw new ShardlineError('INVALID_INPUT', 'Invalid --token: must not be empty');
  const options: FakeDiscordOptions = {
    port: integer('port', str('port'), 0, 65_535),
    host: str('host'),
    shards: integer('shards', str('shards'), 1, 10_000),
    guildsPerShard: integer('guilds-per-shard', str('guilds-per-shard'), 1, 1_000_000),
    maxGuildsPerShard: integer('max-guilds-per-shard', str('max-guilds-per-shard'), 1, 1_000_000),
    largeBotShardMultiple: integer('shard-multiple', str('shard-multiple'), 1, 1_024),
    maxConcurrency: integer('max-concurrency', str('max-concurrency'), 1, 1024),
    identifySpacingMs: integer('identify-spacing-ms', str('identify-spacing-ms'), 0),
    heartbeatIntervalMs: integer('heartbeat-ms', str('heartbeat-ms'), 100, 600_000),
    token,
    world: {
      guilds: integer('guilds', str('guilds'), 0, 1_000_000),
      membersPerGuild: integer('members', str('members'), 0, 1_000_000),
      seed: integer('seed', str('seed'), 0, 2 ** 32 - 1),
    },
    rest: {
      globalLimit: integer('global-limit', str('global-limit'), 1, 1_000_000),
      invalidLimit: integer('invalid-limit', str('invalid-limit'), 1, 100_000_000),
      invalidWindowMs: integer('invalid-window-ms', str('invalid-window-ms'), 1),
      banMs: integer('ban-ms', str('ban-ms'), 1),
    },
  };
  return { help: values.help === true, options, eventsPerSecond: integer('events-per-second', str('events-per-second'), 0, 10_000_000) ?? 0 };
}

/**
 * `shardline fake-discord`: starts the sim, prints its URLs (REST base first), serves until
 * `io.signal` aborts, then closes it. Resolves to the exit code; never throws.
 */
export async function runFakeDiscordCommand(argv: string[], io: FakeDiscordCommandIo): Promise<number> {
  let parsed: ParsedFakeDiscordArgs;
  try {
    parsed = parseFakeDiscordArgs(argv);
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}`);
    io.stderr(FAKE_DISCORD_USAGE);
    return 2;
  }
  if (parsed.help) {
    io.stdout(FAKE_DISCORD_USAGE);
    return 0;
  }
  let discord: FakeDiscord;
  try {
    discord = new FakeDiscord({ ...parsed.options, ...(io.logger ? { logger: io.logger } : {}) });
    await discord.start();
  } catch (error) {
    io.stderr(`error: ${isShardlineError(error) ? error.message : String(error)}`);
    return isShardlineError(error, 'INVALID_CONFIG') || isShardlineError(error, 'INVALID_INPUT') ? 2 : 1;
  }
  try {
    io.stdout(discord.restUrl);
    io.stdout(`gateway: ${discord.gatewayUrl}`);
    io.stdout(`control: ${discord.restUrl.replace(/\/api$/, '')}/_sim (POST /faults, GET /stats, GET /ledger/:shardId, POST /ledger/check, POST /traffic, POST /guilds, GET /rest/stats, POST /rest/forgive)`);
    io.stdout(`world: ${discord.world.guilds.size} guilds, ${discord.world.users.size} users, token ${JSON.stringify(parsed.options.token ?? 'fake-token')}`);
    if (parsed.eventsPerSecond > 0) discord.traffic.start({ eventsPerSecond: parsed.eventsPerSecond });
    if (!io.signal.aborted) {
      await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    return 0;
  } finally {
    await discord.close();
  }
}

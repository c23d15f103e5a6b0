import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { APIMessage } from 'discord-api-types/v10';
import { loadConfig } from '../config/load-config.ts';
import { ShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import type { Runtime } from '../core/runtime.ts';
import { FakeDiscord } from '../discord-sim/fake-discord.ts';
import { Host } from '../host.ts';
import { createDemoBot } from './demo-bot.ts';

export const DEMO_USAGE = `Usage: shardline demo [options]

Runs a simulated Discord with live traffic, a shardline node with an example bot, and the
HTTP API, all on this machine. Nothing reaches the real Discord.

Options:
  --guilds <n>              guilds in the simulated world (default 40)
  --members <n>             members per guild (default 50)
  --shards <n>              shard count (default 4)
  --events-per-second <n>   simulated traffic (default 50)
  --port <n>                HTTP API port (default 8080; 0 picks a free one)
  --data-dir <dir>          where the database goes (default: a new temporary directory)`;

export interface DemoIo {
  stdout(text: string): void;
  signal: AbortSignal;
  logger: Logger;
}

export async function runDemo(argv: readonly string[], runtime: Runtime, io: DemoIo): Promise<number> {
  const options = parseDemoArgs(argv);
  if (options === 'help') {
    io.stdout(`${DEMO_USAGE}\n`);
    return 0;
  }
  const discord = new FakeDiscord({
    shards: options.shards,
    maxConcurrency: options.shards,
    world: { seed: 42, guilds: options.guilds, membersPerGuild: options.members },
  });
  await discord.start();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'shardline-demo-'));
  const adminToken = `demo-${Math.random().toString(36).slice(2, 12)}${Math.random().toString(36).slice(2, 12)}`;
  const config = loadConfig({
    env: {
      DISCORD_TOKEN: 'fake-token',
      DISCORD_API_URL: discord.restUrl,
      SHARDLINE_DATA_DIR: dataDir,
      SHARDLINE_HTTP_PORT: String(options.port),
      SHARDLINE_ADMIN_TOKEN: adminToken,
      SHARDLINE_NODE_ID: 'demo-node',
    },
  });
  const host = new Host({ config, runtime, bot: createDemoBot({ onReply: (line) => io.stdout(`  bot  ${line}\n`) }), logger: io.logger });
  const timers: ReturnType<typeof setInterval>[] = [];
  try {
    io.stdout(`shardline demo\n  simulated Discord  ${discord.restUrl}  (${options.guilds} guilds x ${options.members} members, ${options.shards} shards)\n`);
    let last = '';
    host.on('progress', (p) => {
      const line = `  shards  ${p.ready}/${p.total} ready, ${p.identifying} identifying, ${p.resuming} resuming`;
      if (line !== last) io.stdout(`${(last = line)}\n`);
    });
    await host.start();
    discord.traffic.start({ eventsPerSecond: options.eventsPerSecond });
    const api = host.url ?? '(HTTP API off)';
    io.stdout(
      [
        '',
        `  HTTP API   ${api}    admin token: ${adminToken}`,
        `  database   ${host.databasePath}`,
        '',
        'Try, in another terminal:',
        `  curl -s -H 'authorization: Bearer ${adminToken}' ${api}/status`,
        `  curl -s -H 'authorization: Bearer ${adminToken}' -H 'content-type: application/json' \\`,
        `       -d '{"sql":"select name, member_count from guilds order by member_count desc limit 5"}' ${api}/query`,
        `  npm run shardline -- query --data-dir ${dataDir} "select count(*) as members from members"`,
        '',
        `Traffic: ${options.eventsPerSecond} events/s. A simulated user says !ping or !stats every 3 s; the bot answers. Ctrl-C stops.`,
        '',
      ].join('\n'),
    );
    let n = 0;
    timers.push(setInterval(() => say(discord, n++ % 3 === 2 ? '!stats' : '!ping'), 3_000));
    timers.push(
      setInterval(() => {
        const s = host.status();
        const events = s.shards.reduce((sum, shard) => sum + shard.events, 0);
        io.stdout(`  node ${events} events handled, ${s.funnel?.transactions ?? 0} transactions, queue ${s.funnel?.queuedRows ?? 0} rows\n`);
      }, 15_000),
    );
    await new Promise<void>((resolve) => (io.signal.aborted ? resolve() : io.signal.addEventListener('abort', () => resolve(), { once: true })));
    io.stdout('\nstopping: shards detach resumably and their sessions are committed\n');
    return 0;
  } finally {
    for (const timer of timers) clearInterval(timer);
    discord.traffic.stop();
    await host.close();
    await discord.close();
    io.stdout(`stopped; the database is kept at ${join(dataDir, config.dbFile)}\n`);
  }
}

function parseDemoArgs(argv: readonly string[]): 'help' | { guilds: number; members: number; shards: number; eventsPerSecond: number; port: number; dataDir: string | null } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        guilds: { type: 'string' },
        members: { type: 'string' },
        shards: { type: 'string' },
        'events-per-second': { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new ShardlineError('INVALID_INPUT', `${(error as Error).message}\n\n${DEMO_USAGE}`);
  }
  if (values.help) return 'help';
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = values[name as keyof typeof values] as string | undefined;
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new ShardlineError('INVALID_INPUT', `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  return {
    guilds: int('guilds', 40, 1, 100_000),
    members: int('members', 50, 1, 100_000),
    shards: int('shards', 4, 1, 1024),
    eventsPerSecond: int('events-per-second', 50, 0, 1_000_000),
    port: int('port', 8080, 0, 65_535),
    dataDir: values['data-dir'] ?? null,
  };
}

/** A simulated user posts a command in a random text channel of a random guild. */
function say(discord: FakeDiscord, content: string): void {
  const guilds = [...discord.world.guilds.values()];
  const guild = guilds[Math.floor(Math.random() * guilds.length)];
  if (!guild) return;
  const channel = [...guild.channels.values()].find((c) => c.type === 0);
  const member = [...guild.members.values()].find((m) => m.user && !m.user.bot);
  if (!channel || !member?.user) return;
  const id = String(((BigInt(Date.now()) - 1_420_070_400_000n) << 22n) | BigInt(Math.floor(Math.random() * 4096)));
  const message: APIMessage & { guild_id: string } = {
    id,
    channel_id: channel.id,
    guild_id: guild.id,
    author: member.user,
    content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    type: 0,
  };
  discord.dispatchToGuild(guild.id, 'MESSAGE_CREATE', message);
}

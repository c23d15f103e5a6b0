import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { APIMessage } from 'discord-api-types/v10';
import { ShardlineError } from '../core/errors.ts';
import type { Logger } from '../core/ports.ts';
import type { Runtime } from '../core/runtime.ts';
import type { FakeDiscord } from '../discord-sim/fake-discord.ts';
import { createDemoBot } from './demo-bot.ts';
import { DemoCluster } from './demo-cluster.ts';

export const DEMO_USAGE = `Usage: shardline demo [options]

Runs a simulated Discord with live traffic, a cluster of shardline nodes over a simulated
LiteFS (each with the example bot and its HTTP API and dashboard), all on this machine.
Nothing reaches the real Discord.

Options:
  --nodes <n>               nodes (default 3; 1 runs one embedded node without LiteFS)
  --guilds <n>              guilds in the simulated world (default 40)
  --members <n>             members per guild (default 50)
  --shards <n>              shard count (default 4)
  --events-per-second <n>   simulated traffic (default 50)
  --port <n>                HTTP port of the first node, the next ones +1 (default 8080; 0 picks free ones)
  --data-dir <dir>          where the databases go (default: a new temporary directory)`;

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
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'shardline-demo-'));
  const cluster = new DemoCluster({
    runtime,
    dataDir,
    nodes: options.nodes,
    port: options.port,
    shards: options.shards,
    guilds: options.guilds,
    members: options.members,
    logger: io.logger,
    bot: (nodeId) => createDemoBot({ onReply: (line) => io.stdout(`  bot  ${nodeId}  ${line}\n`) }),
  });
  const discord = cluster.discord;
  const timers: ReturnType<typeof setInterval>[] = [];
  const stopped = new Promise<void>((resolve) => (io.signal.aborted ? resolve() : io.signal.addEventListener('abort', () => resolve(), { once: true })));
  try {
    io.stdout(
      `shardline demo\n  ${options.nodes === 1 ? 'one embedded node' : `${options.nodes} nodes on a simulated LiteFS`}, ${options.shards} shards, ` +
        `${options.guilds} guilds x ${options.members} members\n`,
    );
    let last = '';
    const starting = cluster.start({
      onProgress: (p) => {
        const spread = options.nodes === 1 ? '' : ` (${[...p.byNode].map(([id, n]) => `${id} ${n}`).join(', ')})`;
        const line = `  shards  ${p.ready}/${p.total} ready${spread}`;
        if (line !== last) io.stdout(`${(last = line)}\n`);
      },
    });
    // Ctrl-C while starting stops at once instead of waiting for every shard.
    if ((await Promise.race([starting.then(() => 'started' as const), stopped.then(() => 'stopped' as const)])) === 'stopped') {
      starting.catch(() => {});
      io.stdout('\nstopping before every shard was ready\n');
      return 0;
    }
    discord.traffic.start({ eventsPerSecond: options.eventsPerSecond });
    io.stdout(banner(cluster, options.eventsPerSecond, runtime.cliCommand));
    let n = 0;
    timers.push(setInterval(() => say(discord, n++ % 3 === 2 ? '!stats' : '!ping'), 3_000));
    timers.push(
      setInterval(() => {
        let events = 0;
        for (const node of cluster.nodes) for (const shard of node.host.status().shards) events += shard.events;
        const funnel = cluster.primary()?.host.status().funnel;
        io.stdout(`  cluster  ${events} events handled, primary ${cluster.primary()?.id ?? 'none'}: ${funnel?.transactions ?? 0} transactions, queue ${funnel?.queuedRows ?? 0} rows\n`);
      }, 15_000),
    );
    await stopped;
    io.stdout('\nstopping: shards detach resumably and their sessions are committed\n');
    return 0;
  } finally {
    for (const timer of timers) clearInterval(timer);
    await cluster.close();
    const dbs = cluster.databases();
    io.stdout(
      dbs.length <= 1
        ? `stopped; the database is kept at ${dbs[0] ?? dataDir}\n`
        : `stopped; the database is kept at ${dataDir} (one replica per node: ${dbs.map((d) => relative(dataDir, d)).join(', ')})\n`,
    );
  }
}

/** Where to look: every node with its role, the dashboard, the token and commands to paste. */
function banner(cluster: DemoCluster, eventsPerSecond: number, cliCommand: string): string {
  const token = cluster.adminToken;
  const primary = cluster.primary() ?? cluster.nodes[0]!;
  const replica = cluster.nodes.find((n) => n !== primary);
  const auth = `-H 'authorization: Bearer ${token}'`;
  const json = `-H 'content-type: application/json'`;
  const lines = ['', '  nodes'];
  for (const node of cluster.nodes) {
    const role = node.host.status().node.role;
    lines.push(`    ${node.id.padEnd(10)} ${node.url.padEnd(24)} ${role}${node.host.config.litefsUrl ? '' : ' (embedded)'}`);
  }
  lines.push(
    '',
    `  dashboard    ${primary.url}/   (${cluster.nodes.length > 1 ? "any node's URL works; " : ''}log in with the admin token)`,
    `  admin token  ${token}`,
    '',
    'Try, in another terminal:',
    `  curl -s ${auth} ${primary.url}/status`,
    `  curl -s ${auth} ${json} \\`,
    `       -d '{"sql":"select name, member_count from guilds order by member_count desc limit 5"}' ${primary.url}/query`,
  );
  if (replica) {
    lines.push(
      `  curl -s ${auth} ${json} -d '{"to":"${replica.id}"}' ${primary.url}/shards/0/move`,
      `  curl -s ${auth} -X POST ${primary.url}/nodes/${replica.id}/drain`,
      `  curl -s ${auth} -X POST ${replica.url}/takeover`,
    );
  }
  lines.push(
    `  ${cliCommand} query --data-dir ${primary.dataDir} "select count(*) as members from members"`,
    '',
    `Traffic: ${eventsPerSecond} events/s. A simulated user says !ping or !stats every 3 s; the bot answers. Ctrl-C stops.`,
    '',
  );
  return `${lines.join('\n')}\n`;
}

interface DemoArgs {
  readonly nodes: number;
  readonly guilds: number;
  readonly members: number;
  readonly shards: number;
  readonly eventsPerSecond: number;
  readonly port: number;
  readonly dataDir: string | null;
}

function parseDemoArgs(argv: readonly string[]): 'help' | DemoArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        nodes: { type: 'string' },
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
  const nodes = int('nodes', 3, 1, 26);
  const port = int('port', 8080, 0, 65_535);
  if (port !== 0 && port + nodes - 1 > 65_535) throw new ShardlineError('INVALID_INPUT', `--port ${port} leaves no room for ${nodes} nodes (ports ${port} to ${port + nodes - 1})`);
  return {
    nodes,
    guilds: int('guilds', 40, 1, 100_000),
    members: int('members', 50, 1, 100_000),
    shards: int('shards', 4, 1, 1024),
    eventsPerSecond: int('events-per-second', 50, 0, 1_000_000),
    port,
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

import { importBot } from './bot-module.ts';
import { CONFIG_SETTINGS, loadConfig } from './config/load-config.ts';
import { ShardlineError, isShardlineError } from './core/errors.ts';
import type { Runtime } from './core/runtime.ts';
import { ADMIN_COMMANDS, runAdminCommand, type AdminCommand } from './cli/admin-commands.ts';
import { runQueryCommand } from './cli/query-command.ts';
import { shutdownSignals, type ShutdownSignals } from './cli/shutdown-signals.ts';
import { runDemo } from './demo/run-demo.ts';
import { runFakeDiscordCommand } from './discord-sim/cli-fake-discord.ts';
import { Host, VERSION, type LeaveReport } from './host.ts';
import { createLogger } from './log/create-logger.ts';

export const USAGE = `shardline ${VERSION}: a Discord bot host whose shards move between machines by RESUME

Usage: shardline <command> [options]

Commands:
  start                 run a node (configuration from the environment, below)
  demo                  simulated Discord + a node + an example bot, all local
  query "<sql>"         read-only SQL against this node's database
  fake-discord          run the simulated Discord (REST + gateway) on its own
  takeover              make a node the primary (admin API at --url, token from SHARDLINE_ADMIN_TOKEN)
  move <shard> <node>   move a shard to another node by RESUME
  drain <node>          move every shard off a node; --undrain to let it take shards again
  status                nodes, shards per node and the identify budget, as a table
  reshard <count|auto>  change the shard count live: a new set starts beside the old one
  help [command]        this text, or a command's options
  version               print the version

Environment of \`start\` (flags override where one is listed):
${settingsTable()}`;

/** Columns as wide as their longest cell, so a long flag never runs into its help text. */
function settingsTable(): string {
  const envWidth = Math.max(...CONFIG_SETTINGS.map((s) => s.env.length)) + 2;
  const flagWidth = Math.max(...CONFIG_SETTINGS.map((s) => (s.flag ?? '').length)) + 2;
  return CONFIG_SETTINGS.map((s) => `  ${s.env.padEnd(envWidth)}${(s.flag ?? '').padEnd(flagWidth)}${s.help}`).join('\n');
}

/** Exit codes: 0 done, 1 failed while running, 2 bad usage or configuration. */
export async function runCli(runtime: Runtime): Promise<number> {
  const [command = 'help', ...rest] = runtime.argv;
  const stopSignal = (): AbortSignal => {
    const controller = new AbortController();
    const off = runtime.onShutdownSignal((signal) => {
      off();
      controller.abort(new ShardlineError('CLOSED', `received ${signal}`));
    });
    return controller.signal;
  };
  try {
    switch (command) {
      case 'start':
        return await start(runtime, rest);
      case 'demo': {
        const logger = createLogger({ level: runtime.env['SHARDLINE_LOG_LEVEL'] ?? 'warn' });
        return await runDemo(rest, runtime, { stdout: runtime.stdout, signal: stopSignal(), logger });
      }
      case 'query':
        return await runQueryCommand(rest, runtime);
      case 'takeover':
      case 'move':
      case 'drain':
      case 'status':
      case 'reshard':
        return await runAdminCommand(command, rest, runtime);
      case 'fake-discord':
        return await runFakeDiscordCommand(rest, {
          stdout: (line) => runtime.stdout(`${line}\n`),
          stderr: (line) => runtime.stderr(`${line}\n`),
          signal: stopSignal(),
        });
      case 'version':
      case '--version':
        runtime.stdout(`${VERSION}\n`);
        return 0;
      case 'help':
      case '--help':
      case '-h':
        if (rest[0] === 'query' || rest[0] === 'demo' || rest[0] === 'fake-discord') return await runCli({ ...runtime, argv: [rest[0], '--help'] });
        if (ADMIN_COMMANDS.includes(rest[0] as AdminCommand)) return await runAdminCommand(rest[0] as AdminCommand, ['--help'], runtime);
        runtime.stdout(`${USAGE}\n`);
        return 0;
      default:
        runtime.stderr(`shardline: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    return report(runtime, error);
  }
}

async function start(runtime: Runtime, argv: readonly string[]): Promise<number> {
  const signals = shutdownSignals(runtime);
  try {
    return await startNode(runtime, argv, signals);
  } finally {
    signals.off();
  }
}

async function startNode(runtime: Runtime, argv: readonly string[], signals: ShutdownSignals): Promise<number> {
  const signal = signals.stop;
  const config = loadConfig({ env: runtime.env, argv, hostname: runtime.hostname });
  const logger = createLogger({ level: config.logLevel, base: { node: config.nodeId } });
  const bot = config.botModule === null ? undefined : await importBot(config.botModule, runtime.resolveModule);
  if (!bot) logger.warn('SHARDLINE_BOT is not set: running with no handlers (the cache still fills)');
  const host = new Host({ config, runtime, bot, logger });
  let last = '';
  host.on('progress', (p) => {
    const line = `shards: ${p.ready}/${p.total} ready, ${p.identifying} identifying, ${p.resuming} resuming`;
    if (line !== last) runtime.stderr(`${(last = line)}\n`);
  });
  const stopping = new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  await Promise.race([host.start(), stopping]);
  if (!signal.aborted) {
    runtime.stderr(`shardline node ${config.nodeId} running; HTTP API on ${host.url ?? 'off'}\n`);
    await stopping;
  }
  // Contract 11: a cluster node leaves (lease and shards handed on) before it stops; a second signal cuts that short.
  runtime.stderr(`stopping: leaving the cluster (at most ${config.leaveTimeoutMs} ms; a second signal stops at once), then detaching what is left resumably\n`);
  const report = await host.leave({ signal: signals.now });
  runtime.stderr(`stopped after ${report.tookMs} ms: ${describeLeave(report)}\n`);
  return 0;
}

function describeLeave(report: LeaveReport): string {
  switch (report.outcome) {
    case 'left':
      return `every shard (${report.shards}) moved to other nodes by resume${report.newPrimary ? `; ${report.newPrimary} took the lease after ${report.primaryHandoffMs} ms` : ''}`;
    case 'deadline':
      return `${report.shards - report.leftover} of ${report.shards} shards moved by resume before the deadline; ${report.leftover} detached resumably`;
    case 'interrupted':
      return `stopped at once on a second signal; ${report.leftover} shards detached resumably`;
    case 'alone':
      return 'no other live node: shards detached resumably';
    default:
      return 'shards detached resumably';
  }
}

function report(runtime: Runtime, error: unknown): number {
  if (isShardlineError(error)) {
    runtime.stderr(`shardline: ${error.message} [${error.code}]\n`);
    return error.code === 'INVALID_CONFIG' || error.code === 'INVALID_INPUT' ? 2 : 1;
  }
  runtime.stderr(`shardline: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

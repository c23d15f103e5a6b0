import { describe, expect, it } from 'vitest';
import { parseFakeDiscordArgs, runFakeDiscordCommand } from './cli-fake-discord.ts';

describe('shardline fake-discord', () => {
  it('parses every flag', () => {
    const parsed = parseFakeDiscordArgs(['--port', '0', '--guilds', '7', '--members', '3', '--shards', '2', '--guilds-per-shard', '5', '--max-guilds-per-shard', '9', '--shard-multiple', '2', '--max-concurrency', '2', '--heartbeat-ms', '500', '--events-per-second', '100', '--seed', '4', '--token', 't', '--global-limit', '10', '--invalid-limit', '100', '--invalid-window-ms', '60000', '--ban-ms', '5000']);
    expect(parsed.options).toMatchObject({ port: 0, shards: 2, guildsPerShard: 5, maxGuildsPerShard: 9, largeBotShardMultiple: 2, maxConcurrency: 2, heartbeatIntervalMs: 500, token: 't', world: { guilds: 7, membersPerGuild: 3, seed: 4 }, rest: { globalLimit: 10, invalidLimit: 100, invalidWindowMs: 60_000, banMs: 5_000 } });
    expect(parsed.eventsPerSecond).toBe(100);
  });

  it.each([
    [['--port', 'abc'], /--port/],
    [['--port', '70000'], /--port/],
    [['--guilds', '-1'], /--guilds/],
    [['--shards', '1.5'], /--shards/],
    [['--shard-multiple', '0'], /--shard-multiple/],
    [['--nope'], /Unknown option/],
    [['--token', ''], /--token/],
    [['--global-limit', '0'], /--global-limit/],
  ])('refuses %j with a clear error and exit code 2', async (argv, message) => {
    const err: string[] = [];
    const code = await runFakeDiscordCommand(argv, { stdout: () => {}, stderr: (l) => err.push(l), signal: new AbortController().signal });
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
  });
});

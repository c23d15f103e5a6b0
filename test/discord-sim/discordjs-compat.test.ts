import { Client, Events, GatewayIntentBits } from 'discord.js';
import type { Message } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('an unmodified discord.js v14 Client against the sim', () => {
  let discord: FakeDiscord | undefined;
  let client: Client | undefined;

  afterEach(async () => {
    await client?.destroy();
    await discord?.close();
    client = undefined;
    discord = undefined;
  });

  it('logs in on 2 shards, receives every guild, survives a forced reconnect by resuming', async () => {
    discord = new FakeDiscord({
      shards: 2,
      maxConcurrency: 2,
      identifySpacingMs: 100,
      heartbeatIntervalMs: 500,
      world: { seed: 7, guilds: 8, membersPerGuild: 5 },
    });
    await discord.start();
    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
      rest: { api: discord.restUrl },
      shards: 'auto',
      waitGuildTimeout: 5_000,
    });
    const messages: Message[] = [];
    client.on(Events.MessageCreate, (message) => messages.push(message));
    await client.login('fake-token');
    await waitFor(() => client!.isReady(), { timeoutMs: 20_000, message: 'client ready' });
    expect(client.ws.shards.size).toBe(2);
    expect(client.guilds.cache.size).toBe(discord.world.guilds.size);
    expect(discord.stats.identifies).toBe(2);

    const resumesBefore = discord.stats.resumes;
    expect(discord.faults.reconnect(0)).toBe(1);
    await waitFor(() => discord!.stats.resumes > resumesBefore, { timeoutMs: 20_000, message: 'client resumed' });
    expect(discord.stats.identifies).toBe(2);
    expect(discord.connections(0).filter((c) => c.open && c.resumed)).toHaveLength(1);
    expect(client.isReady()).toBe(true);

    const guild = [...discord.world.guilds.values()].find((g) => g.shardKey % 2 === 0)!;
    const channel = [...guild.channels.values()].find((c) => c.type === 0)!;
    const response = await fetch(`${discord.restUrl}/v10/channels/${channel.id}/messages`, {
      method: 'POST',
      headers: { authorization: 'Bot fake-token', 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'after the reconnect' }),
    });
    expect(response.status).toBe(200);
    const message = await waitFor(() => messages.find((m) => m.content === 'after the reconnect'), { message: 'MESSAGE_CREATE after resume' });
    expect(message.guildId).toBe(guild.id);
    expect(message.channelId).toBe(channel.id);
  });
});

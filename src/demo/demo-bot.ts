import { GatewayIntentBits, Routes } from 'discord-api-types/v10';
import { defineBot } from '../bot.ts';

/**
 * The bot `shardline demo` runs, and a template for your own: one file, typed handlers,
 * SQL over the cache, REST through the context. `!ping` answers from the shard that saw the
 * message; `!stats` answers from the cache with SQL.
 */
export function createDemoBot(options: { onReply?: (line: string) => void } = {}) {
  return defineBot({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMembers,
      GatewayIntentBits.GuildExpressions,
      GatewayIntentBits.GuildVoiceStates,
      GatewayIntentBits.GuildPresences,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
    ],
    handlers: {
      async MESSAGE_CREATE(message, ctx) {
        if (message.author.bot) return;
        let content: string | null = null;
        if (message.content === '!ping') {
          content = `pong from shard ${ctx.shardId}`;
        } else if (message.content === '!stats') {
          // Counting the whole cache is a scan: off the event loop, so this node's shards keep reading meanwhile.
          const [row] = await ctx.query<{ guilds: number; members: number; users: number }>(
            'select (select count(*) from guilds) as guilds, (select count(*) from members) as members, (select count(*) from users) as users',
          );
          content = `cache: ${row?.guilds} guilds, ${row?.members} members, ${row?.users} users`;
        }
        if (content === null) return;
        await ctx.rest.post(Routes.channelMessages(message.channel_id), { body: { content } });
        const [channel] = ctx.sql<{ name: string }>('select name from channels where id = ?', [message.channel_id]);
        options.onReply?.(`shard ${ctx.shardId}  #${channel?.name ?? message.channel_id}  ${message.author.username}: ${message.content}  ->  ${content}`);
      },
    },
    shardReady(info, ctx) {
      ctx.logger.info({ kind: info.kind, seq: info.session.seq }, 'shard ready');
    },
  });
}

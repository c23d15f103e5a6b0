// The bot example of README.md, kept here so `npm run typecheck` checks it; readme-example.test.ts
// fails when the two differ (apart from this comment and the import of shardline itself).
import { defineBot } from '../../src/mod.ts';
import { GatewayIntentBits, Routes } from 'discord-api-types/v10';

export default defineBot({
  intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent],
  handlers: {
    async MESSAGE_CREATE(message, ctx) {
      if (message.content === '!members') {
        // An indexed lookup: quick enough for the event loop.
        const [row] = ctx.sql<{ n: number }>('select count(*) as n from members where guild_id = ?', [message.guild_id]);
        await ctx.rest.post(Routes.channelMessages(message.channel_id), { body: { content: `${row?.n} members` } });
      } else if (message.content === '!busiest') {
        // A scan over every guild: in a query process, so this node's shards keep reading meanwhile.
        const top = await ctx.query<{ name: string; n: number }>('select g.name, count(*) as n from members m join guilds g on g.id = m.guild_id group by g.id order by n desc limit 3');
        await ctx.rest.post(Routes.channelMessages(message.channel_id), { body: { content: top.map((g) => `${g.name}: ${g.n}`).join('\n') } });
      }
    },
  },
  // Runs after an IDENTIFY and after a RESUME: a shard moved to another node never sees READY again.
  shardReady(info, ctx) {
    ctx.logger.info({ kind: info.kind }, 'shard ready');
  },
});

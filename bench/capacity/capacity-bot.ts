import { GatewayIntentBits } from 'discord-api-types/v10';
import { defineBot } from '../../src/bot.ts';

/**
 * The bot of bench/cluster-capacity.ts's nodes (SHARDLINE_BOT): the intents of a caching bot
 * (so the funnel writes what such a bot's cache needs) and a handler that does nothing, so the
 * figures hold shardline's cost and not a bot's.
 */
export default defineBot({
  intents: [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMembers,
    GatewayIntentBits.GuildModeration,
    GatewayIntentBits.GuildExpressions,
    GatewayIntentBits.GuildVoiceStates,
    GatewayIntentBits.GuildPresences,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.MessageContent,
  ],
  onDispatch() {},
});

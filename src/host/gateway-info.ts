import { REST, DiscordAPIError } from '@discordjs/rest';
import { Routes, type RESTGetAPIGatewayBotResult } from 'discord-api-types/v10';
import { ShardlineError } from '../core/errors.ts';

/** The REST client every node uses; sweepers off so `close()` leaves no interval behind. */
export function createRest(apiUrl: string, token: string): REST {
  return new REST({ api: apiUrl, version: '10', hashSweepInterval: 0, handlerSweepInterval: 0 }).setToken(token);
}

/** GET /gateway/bot with the failures a person can act on spelled out. */
export async function fetchGatewayBot(rest: REST, apiUrl: string): Promise<RESTGetAPIGatewayBotResult> {
  try {
    return (await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult;
  } catch (error) {
    if (error instanceof DiscordAPIError && error.status === 401) {
      throw new ShardlineError('GATEWAY_FATAL', `Discord rejected the bot token (401 from ${apiUrl}/v10/gateway/bot): check DISCORD_TOKEN`, { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new ShardlineError('GATEWAY_UNAVAILABLE', `Cannot fetch ${apiUrl}/v10/gateway/bot: ${reason}`, { cause: error });
  }
}

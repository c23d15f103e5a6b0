import { GatewayIntentBits, type GatewayGuildRoleDeleteDispatchData, type GatewayMessageCreateDispatchData } from 'discord-api-types/v10';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineBot, intentsOf, type DispatchData } from './bot.ts';
import { validateBot } from './bot-module.ts';

describe('validateBot', () => {
  it('accepts a defineBot module and computes its intents', () => {
    const bot = defineBot({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
      handlers: { MESSAGE_CREATE: () => {} },
      shardReady: () => {},
      cache: { presences: false, voiceStates: true },
    });
    expect(validateBot(bot, 'bot.ts')).toBe(bot);
    expect(intentsOf(bot)).toBe(1 | 512);
  });

  it.each([
    ['a missing default export', undefined, /default export must be an object/],
    ['missing intents', { handlers: {} }, /intents must be a number or an array/],
    ['a typo in a handler name', { intents: 1, handlers: { MESSAGE_CRATE: () => {} } }, /handlers.MESSAGE_CRATE is not a gateway dispatch name \(did you mean MESSAGE_CREATE\?\)/],
    ['a handler that is not a function', { intents: 1, handlers: { READY: 'x' } }, /handlers.READY must be a function/],
    ['a bad shardReady', { intents: 1, shardReady: 3 }, /shardReady must be a function/],
    ['negative intents', { intents: -1 }, /non-negative/],
    ['a cache that is not an object', { intents: 1, cache: false }, /cache must be an object such as \{ presences: false \}, got boolean/],
    ['an unknown cache table', { intents: 1, cache: { members: false } }, /cache.members is not a cache option \(known: presences, voiceStates\)/],
    ['a cache flag that is not a boolean', { intents: 1, cache: { presences: 'no' } }, /cache.presences must be true or false/],
  ])('rejects %s with a message naming the problem', (_name, value, message) => {
    expect(() => validateBot(value, 'my-bot.ts')).toThrow(message);
    expect(() => validateBot(value, 'my-bot.ts')).toThrow(/my-bot.ts/);
  });
});

describe('DispatchData', () => {
  it('gives each handler the payload of its own event', () => {
    expectTypeOf<DispatchData<'MESSAGE_CREATE'>>().toEqualTypeOf<GatewayMessageCreateDispatchData>();
    expectTypeOf<DispatchData<'GUILD_ROLE_DELETE'>>().toEqualTypeOf<GatewayGuildRoleDeleteDispatchData>();
    defineBot({
      intents: 0,
      handlers: {
        MESSAGE_CREATE: (message) => {
          expectTypeOf(message.content).toBeString();
        },
      },
    });
  });
});

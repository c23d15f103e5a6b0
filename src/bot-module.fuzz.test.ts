/**
 * A bot module is code from outside shardline: whatever its default export holds, validateBot
 * returns a definition the host can run or throws INVALID_CONFIG with a bounded message; never
 * another error, and never a definition whose intents or handlers would silently misbehave.
 */
import { GatewayDispatchEvents, GatewayIntentBits } from 'discord-api-types/v10';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intentsOf, type BotDefinition } from './bot.ts';
import { validateBot } from './bot-module.ts';
import { isShardlineError } from './core/errors.ts';

const NAMES = new Set<string>(Object.values(GatewayDispatchEvents));
const valid = { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages], handlers: { MESSAGE_CREATE: () => {} }, shardReady: () => {}, cache: { presences: false } };

/** What the host relies on, written apart from the validator. */
function usable(bot: BotDefinition): boolean {
  const intents = intentsOf(bot);
  const handlers = bot.handlers ?? {};
  return (
    Number.isInteger(intents) && intents >= 0 && intents < 2 ** 31 &&
    (Array.isArray(bot.intents) ? (bot.intents as unknown[]).every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b < 2 ** 31) : true) &&
    typeof handlers === 'object' && Object.entries(handlers).every(([name, fn]) => NAMES.has(name) && typeof fn === 'function') &&
    (bot.onDispatch === undefined || typeof bot.onDispatch === 'function') &&
    (bot.shardReady === undefined || typeof bot.shardReady === 'function') &&
    (bot.cache === undefined || (typeof bot.cache === 'object' && bot.cache !== null && Object.entries(bot.cache).every(([k, v]) => ['presences', 'voiceStates'].includes(k) && typeof v === 'boolean')))
  );
}

const fn = fc.constant(() => {});
const anyValue = fc.oneof(fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true }), fn, fc.constantFrom<unknown>(2 ** 31, 2 ** 40, -1, 1.5, NaN, [2 ** 31], [2 ** 40, 1], ['1'], 'x'.repeat(100_000)));
const key = fc.oneof(fc.constantFrom('intents', 'handlers', 'onDispatch', 'shardReady', 'cache', 'handler', 'intent', 'Cache', 'name'), fc.string({ maxLength: 20 }));
const handlerKey = fc.oneof(fc.constantFrom(...NAMES, 'MESSAGE_CRATE', 'ready'), fc.string({ maxLength: 30 }), fc.nat({ max: 100_000 }).map((n) => 'M'.repeat(n)));

const definition = fc.oneof(
  anyValue,
  fc.record({ k: key, v: anyValue }).map(({ k, v }) => ({ ...valid, [k]: v })),
  fc.record({ k: handlerKey, v: fc.oneof(fn, anyValue) }).map(({ k, v }) => ({ ...valid, handlers: { ...valid.handlers, [k]: v } })),
  fc.dictionary(handlerKey, fc.oneof(fn, anyValue), { maxKeys: 200 }).map((handlers) => ({ intents: 1, handlers })),
);

function outcome(value: unknown): { ok: true; bot: BotDefinition } | { ok: false } {
  try {
    return { ok: true, bot: validateBot(value, 'fuzz-bot.ts') };
  } catch (error) {
    expect(isShardlineError(error, 'INVALID_CONFIG'), String(error)).toBe(true);
    expect((error as Error).message.length).toBeLessThan(8_000);
    return { ok: false };
  }
}

describe('validateBot under fuzzed module exports', () => {
  it('answers anything with a usable definition or a bounded INVALID_CONFIG', () => {
    fc.assert(
      fc.property(definition, (value) => {
        const result = outcome(value);
        if (result.ok) expect(usable(result.bot)).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });

  it('regression: intents bits at or past 2^31 were accepted and vanished (or turned the bitfield negative) when OR-ed', () => {
    expect(outcome({ intents: [2 ** 40] }).ok).toBe(false);
    expect(outcome({ intents: [2 ** 31, 1] }).ok).toBe(false);
  });

  it('regression: a getter that throws in the definition escaped as its own error instead of INVALID_CONFIG', () => {
    const bot = { intents: 1, get handlers(): never { throw new RangeError('boom'); } };
    expect(() => validateBot(bot, 'getter-bot.ts')).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/getter-bot\.ts: reading its definition threw: "boom"/) }));
  });

  it('regression: an option name one typo away (handler, intent) was ignored without a word, and the bot ran with no handlers', () => {
    expect(() => validateBot({ intents: 1, handler: { READY() {} } }, 'typo.ts')).toThrow(/handler is not a bot option \(did you mean handlers\?\)/);
    expect(validateBot({ intents: 1, name: 'my bot' }, 'extra.ts')).toMatchObject({ name: 'my bot' });
  });

  it('regression: a 20 kB handler name went whole into the message, and through an edit distance against every dispatch name', () => {
    // outcome() checks the message stays under 8 kB.
    expect(outcome({ intents: 1, handlers: { [`${'X'.repeat(20_000)}`]: () => {} } }).ok).toBe(false);
  });
});

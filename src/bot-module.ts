import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { ShardlineError } from './core/errors.ts';
import type { BotDefinition } from './bot.ts';
import { CACHE_OPTION_TABLES } from './store/cache-tables.ts';

const DISPATCH_NAMES: ReadonlySet<string> = new Set(Object.values(GatewayDispatchEvents));
const CACHE_OPTIONS: ReadonlySet<string> = new Set(Object.keys(CACHE_OPTION_TABLES));

/**
 * Checks that a value is a usable bot definition and says precisely what is wrong when it is
 * not (the module is user code: a typo must not become a silent no-op handler).
 */
export function validateBot(value: unknown, source: string): BotDefinition {
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null) {
    throw new ShardlineError('INVALID_CONFIG', `Invalid bot module ${source}: the default export must be an object from defineBot({...}), got ${describe(value)}`);
  }
  const bot = value as Record<string, unknown>;
  const intents = bot['intents'];
  if (typeof intents === 'number') {
    if (!Number.isInteger(intents) || intents < 0 || intents >= 2 ** 31) problems.push(`intents must be a non-negative 31-bit integer, got ${intents}`);
  } else if (Array.isArray(intents)) {
    intents.forEach((bit, i) => {
      if (typeof bit !== 'number' || !Number.isInteger(bit) || bit < 0) problems.push(`intents[${i}] must be a GatewayIntentBits value, got ${describe(bit)}`);
    });
  } else {
    problems.push(`intents must be a number or an array of GatewayIntentBits, got ${describe(intents)}`);
  }
  const handlers = bot['handlers'];
  if (handlers !== undefined) {
    if (typeof handlers !== 'object' || handlers === null) {
      problems.push(`handlers must be an object of functions keyed by dispatch name, got ${describe(handlers)}`);
    } else {
      for (const [name, handler] of Object.entries(handlers)) {
        if (!DISPATCH_NAMES.has(name)) problems.push(`handlers.${name} is not a gateway dispatch name${suggest(name)}`);
        if (typeof handler !== 'function') problems.push(`handlers.${name} must be a function, got ${describe(handler)}`);
      }
    }
  }
  if (bot['onDispatch'] !== undefined && typeof bot['onDispatch'] !== 'function') {
    problems.push(`onDispatch must be a function, got ${describe(bot['onDispatch'])}`);
  }
  if (bot['shardReady'] !== undefined && typeof bot['shardReady'] !== 'function') {
    problems.push(`shardReady must be a function, got ${describe(bot['shardReady'])}`);
  }
  const cache = bot['cache'];
  if (cache !== undefined) {
    if (typeof cache !== 'object' || cache === null || Array.isArray(cache)) {
      problems.push(`cache must be an object such as { presences: false }, got ${describe(cache)}`);
    } else {
      for (const [name, on] of Object.entries(cache)) {
        if (!CACHE_OPTIONS.has(name)) problems.push(`cache.${name} is not a cache option (known: ${[...CACHE_OPTIONS].join(', ')})`);
        else if (typeof on !== 'boolean') problems.push(`cache.${name} must be true or false, got ${describe(on)}`);
      }
    }
  }
  if (problems.length > 0) {
    throw new ShardlineError('INVALID_CONFIG', `Invalid bot module ${source}:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
  return value as BotDefinition;
}

/** Imports a bot module (a path or a specifier) and validates its default export. */
export async function importBot(specifier: string, resolveFrom: (specifier: string) => string): Promise<BotDefinition> {
  let module: Record<string, unknown>;
  const url = resolveFrom(specifier);
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot load bot module ${specifier}: ${(error as Error).message}`, { cause: error });
  }
  return validateBot(module['default'] ?? module['bot'], specifier);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

function suggest(name: string): string {
  const upper = name.toUpperCase().replace(/[^A-Z_]/g, '');
  let best: string | null = null;
  let bestDistance = 4;
  for (const candidate of DISPATCH_NAMES) {
    const d = distance(upper, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === null ? '' : ` (did you mean ${best}?)`;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

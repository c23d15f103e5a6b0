import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { ShardlineError } from './core/errors.ts';
import type { BotDefinition } from './bot.ts';
import { CACHE_OPTION_TABLES } from './store/cache-tables.ts';

const DISPATCH_NAMES: ReadonlySet<string> = new Set(Object.values(GatewayDispatchEvents));
const CACHE_OPTIONS: ReadonlySet<string> = new Set(Object.keys(CACHE_OPTION_TABLES));
const BOT_OPTIONS = ['intents', 'handlers', 'onDispatch', 'shardReady', 'cache'] as const;
/** Problems listed at most; the rest are counted. */
const MAX_PROBLEMS = 20;

/**
 * Checks that a value is a usable bot definition and says precisely what is wrong when it is
 * not (the module is user code: a typo must not become a silent no-op handler). Whatever the
 * value, the answer is the definition or an INVALID_CONFIG of bounded length.
 */
export function validateBot(value: unknown, source: string): BotDefinition {
  if (typeof value !== 'object' || value === null) {
    throw new ShardlineError('INVALID_CONFIG', `Invalid bot module ${source}: the default export must be an object from defineBot({...}), got ${describe(value)}`);
  }
  let problems: string[];
  try {
    problems = problemsOf(value as Record<string, unknown>);
  } catch (error) {
    // A getter or a proxy in the definition threw while it was read.
    throw new ShardlineError('INVALID_CONFIG', `Invalid bot module ${source}: reading its definition threw: ${describe(error instanceof Error ? error.message : error)}`, { cause: error });
  }
  if (problems.length > 0) {
    const listed = problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `and ${problems.length - MAX_PROBLEMS} more`] : problems;
    throw new ShardlineError('INVALID_CONFIG', `Invalid bot module ${source}:\n  - ${listed.join('\n  - ')}`, { details: { problems: listed } });
  }
  return value as BotDefinition;
}

function problemsOf(bot: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const intents = bot['intents'];
  if (typeof intents === 'number') {
    if (!Number.isInteger(intents) || intents < 0 || intents >= 2 ** 31) problems.push(`intents must be a non-negative 31-bit integer, got ${intents}`);
  } else if (Array.isArray(intents)) {
    intents.forEach((bit: unknown, i) => {
      // Bits past 2^31 would vanish (or flip the sign) when the list is OR-ed into a bitfield.
      if (typeof bit !== 'number' || !Number.isInteger(bit) || bit < 0 || bit >= 2 ** 31) problems.push(`intents[${i}] must be a GatewayIntentBits value, got ${describe(bit)}`);
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
        if (!DISPATCH_NAMES.has(name)) problems.push(`handlers.${short(name)} is not a gateway dispatch name${suggest(name, DISPATCH_NAMES)}`);
        if (typeof handler !== 'function') problems.push(`handlers.${short(name)} must be a function, got ${describe(handler)}`);
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
        if (!CACHE_OPTIONS.has(name)) problems.push(`cache.${short(name)} is not a cache option (known: ${[...CACHE_OPTIONS].join(', ')})`);
        else if (typeof on !== 'boolean') problems.push(`cache.${name} must be true or false, got ${describe(on)}`);
      }
    }
  }
  // An option name one typo away from a real one would otherwise be ignored without a word.
  for (const name of Object.keys(bot)) {
    if ((BOT_OPTIONS as readonly string[]).includes(name)) continue;
    const close = suggest(name, BOT_OPTIONS);
    if (close !== '') problems.push(`${short(name)} is not a bot option${close}`);
  }
  return problems;
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
  return typeof value === 'string' ? JSON.stringify(short(value)) : typeof value;
}

/** A name or text from the module as a message shows it: never the whole of a huge one. */
function short(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function suggest(name: string, known: Iterable<string>): string {
  // An edit distance costs length x length: past a name's plausible length there is nothing to suggest.
  if (name.length > 64) return '';
  const dispatch = known === DISPATCH_NAMES;
  const upper = dispatch ? name.toUpperCase().replace(/[^A-Z_]/g, '') : name;
  let best: string | null = null;
  let bestDistance = dispatch ? 4 : 3;
  for (const candidate of known) {
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

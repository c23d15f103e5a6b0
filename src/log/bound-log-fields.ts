/**
 * A log line is bounded where it is written (contract 14): the fields a component or a bot
 * logs can hold what came from outside (a gateway payload's `meta`, a handler's error, a
 * bot logging a whole dispatch), and pino would serialize all of it on the event loop. Long
 * strings are cut, long arrays and objects keep their first entries, deep values stop at a
 * depth, and each cut says how much it left out. Values within the limits are passed on as
 * they are, without a copy.
 */

export interface LogBounds {
  /** Characters of one string (default 2048). */
  readonly maxString: number;
  /** Items of one array, keys of one object (default 32). */
  readonly maxEntries: number;
  /** Nesting kept (default 5); deeper values become a short description. */
  readonly maxDepth: number;
  /** Characters of all the strings and keys of one line together (default 16 384); past it each is cut to 32. */
  readonly maxTotal: number;
  /** Values of one line together, at any depth (default 512); past it objects and arrays are only described. */
  readonly maxValues: number;
}

export const LOG_BOUNDS: LogBounds = { maxString: 2048, maxEntries: 32, maxDepth: 5, maxTotal: 16_384, maxValues: 512 };

const SHORT = 32;

interface Budget {
  chars: number;
  values: number;
}

/** The log fields within `bounds`; the same object when nothing needed cutting. */
export function boundLogFields<T>(fields: T, bounds: LogBounds = LOG_BOUNDS): T {
  return bound(fields, 0, bounds, { chars: bounds.maxTotal, values: bounds.maxValues }, new Set()) as T;
}

/** A message within the string bound. */
export function boundLogMessage(message: string, bounds: LogBounds = LOG_BOUNDS): string {
  return cut(message, bounds.maxString);
}

function cut(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max)}…[+${value.length - max} chars]`;
}

function text(value: string, bounds: LogBounds, budget: Budget, max = bounds.maxString): string {
  const room = budget.chars > 0 ? max : Math.min(max, SHORT);
  budget.chars -= Math.min(value.length, room);
  return cut(value, room);
}

function bound(value: unknown, depth: number, bounds: LogBounds, budget: Budget, seen: Set<object>): unknown {
  budget.values -= 1;
  if (typeof value === 'string') return text(value, bounds, budget);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[circular]';
  if (depth >= bounds.maxDepth || budget.values <= 0) return describe(value);
  seen.add(value);
  try {
    if (value instanceof Error) return boundError(value, depth, bounds, budget, seen);
    if (ArrayBuffer.isView(value)) return value.byteLength <= bounds.maxEntries ? value : `[${value.constructor.name} of ${value.byteLength} bytes]`;
    if (Array.isArray(value)) return boundArray(value, depth, bounds, budget, seen);
    // Dates, Maps and the like serialize through their own toJSON or not at all: leave them be.
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return value;
    return boundObject(value as Record<string, unknown>, depth, bounds, budget, seen);
  } finally {
    seen.delete(value);
  }
}

function boundArray(value: readonly unknown[], depth: number, bounds: LogBounds, budget: Budget, seen: Set<object>): unknown[] {
  const kept = Math.min(value.length, bounds.maxEntries);
  let changed = kept < value.length;
  const out: unknown[] = new Array(kept);
  for (let i = 0; i < kept; i++) {
    out[i] = bound(value[i], depth + 1, bounds, budget, seen);
    if (out[i] !== value[i]) changed = true;
  }
  if (!changed) return value as unknown[];
  if (kept < value.length) out.push(`…[+${value.length - kept} items]`);
  return out;
}

function boundObject(value: Record<string, unknown>, depth: number, bounds: LogBounds, budget: Budget, seen: Set<object>): Record<string, unknown> {
  let changed = false;
  let count = 0;
  let more = 0;
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (count >= bounds.maxEntries) {
      more += 1;
      changed = true;
      continue;
    }
    count += 1;
    const name = text(key, bounds, budget, 2 * SHORT);
    const field = bound(value[key], depth + 1, bounds, budget, seen);
    if (field !== value[key] || name !== key) changed = true;
    out[name] = field;
  }
  if (!changed) return value;
  if (more > 0) out['…'] = `[+${more} keys]`;
  return out;
}

/** Keeps an Error an Error (pino's serializer names its type), with its text and fields bounded. */
function boundError(error: Error, depth: number, bounds: LogBounds, budget: Budget, seen: Set<object>): Error {
  const message = bound(error.message, depth, bounds, budget, seen) as string;
  const stack = typeof error.stack === 'string' ? (bound(error.stack, depth, bounds, budget, seen) as string) : error.stack;
  const fields = boundObject(error as unknown as Record<string, unknown>, depth, bounds, budget, seen);
  const cause = error.cause === undefined ? undefined : bound(error.cause, depth + 1, bounds, budget, seen);
  if (fields === (error as unknown) && message === error.message && stack === error.stack && cause === error.cause) return error;
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error;
  Object.assign(copy, fields === (error as unknown) ? { ...error } : fields);
  Object.defineProperty(copy, 'message', { value: message, enumerable: false, writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: stack, enumerable: false, writable: true, configurable: true });
  if (cause !== undefined) Object.defineProperty(copy, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
  return copy;
}

function describe(value: object): string {
  if (Array.isArray(value)) return `[array of ${value.length}]`;
  return `[${value.constructor?.name ?? 'object'}]`;
}

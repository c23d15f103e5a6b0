import { pino, type DestinationStream, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import type { Logger } from '../core/ports.ts';
import { boundLogFields, boundLogMessage } from './bound-log-fields.ts';

/**
 * Paths that may hold a secret anywhere shardline logs an object. Redaction is a backstop:
 * components should not log secrets in the first place.
 */
export const REDACT_PATHS = [
  'token',
  '*.token',
  '*.*.token',
  'd.token',
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'req.headers.authorization',
  'adminToken',
  'clusterSecret',
  '*.adminToken',
  '*.clusterSecret',
  'secret',
  '*.secret',
];

export interface CreateLoggerOptions {
  level?: string;
  /** Where JSON lines go; stdout by default. Tests pass a sink to read what was logged. */
  destination?: DestinationStream;
  /** Bound on every line, e.g. `{ node: 'node-1' }`. */
  base?: Record<string, unknown>;
}

/** The one root logger of a process; components receive `logger.child({ component })`. */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    base: null,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return uniqueKeys(options.destination ? pino(config, options.destination) : pino(config), options.base ?? {});
}

/**
 * pino writes a child's bindings after its parent's, so nested components (the host, then its
 * coordinator) put `component` twice on a line, and log parsers disagree on which one counts.
 * Every logger here is a child of the root with its bindings merged instead: each key once,
 * the innermost value.
 */
function uniqueKeys(root: PinoLogger, bound: Record<string, unknown>): Logger {
  const logger = Object.keys(bound).length > 0 ? root.child(bound) : root;
  return {
    child: (bindings) => uniqueKeys(root, { ...bound, ...boundLogFields(bindings) }),
    bindings: () => ({ ...bound }),
    trace: (obj, msg) => write(logger, 'trace', obj, msg),
    debug: (obj, msg) => write(logger, 'debug', obj, msg),
    info: (obj, msg) => write(logger, 'info', obj, msg),
    warn: (obj, msg) => write(logger, 'warn', obj, msg),
    error: (obj, msg) => write(logger, 'error', obj, msg),
    fatal: (obj, msg) => write(logger, 'fatal', obj, msg),
  };
}

function write(logger: PinoLogger, level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', obj: object | string, msg: string | undefined): void {
  if (!logger.isLevelEnabled(level)) return;
  // Fields may carry what came from outside: bounded here, before pino serializes them.
  const fields = typeof obj === 'string' ? boundLogMessage(obj) : boundLogFields(obj);
  // An undefined second argument would reach pino's format arguments.
  if (msg === undefined) logger[level](fields as object);
  else logger[level](fields as object, boundLogMessage(msg));
}

/** A logger that drops everything; for library callers who pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

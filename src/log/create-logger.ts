import { pino, type DestinationStream, type LoggerOptions } from 'pino';
import type { Logger } from '../core/ports.ts';

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
    base: options.base ?? null,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** A logger that drops everything; for library callers who pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

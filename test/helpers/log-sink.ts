import { Writable } from 'node:stream';
import { createLogger } from '../../src/log/create-logger.ts';
import type { Logger } from '../../src/core/ports.ts';

/** A real pino logger whose JSON lines are kept in memory, so tests can read what was logged. */
export function captureLogger(level = 'debug', base?: Record<string, unknown>): { logger: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ level, destination, ...(base ? { base } : {}) });
  const text = (): string => chunks.join('');
  const lines = (): Record<string, unknown>[] =>
    text()
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, text };
}

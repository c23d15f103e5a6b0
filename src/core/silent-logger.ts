import type { Logger } from './ports.ts';

/** A logger that drops everything, for components whose caller passed none (no pino needed). */
export const SILENT_LOGGER: Logger = Object.freeze({
  child: () => SILENT_LOGGER,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  fatal: () => {},
});

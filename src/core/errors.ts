/**
 * Every failure shardline reports on purpose is a ShardlineError with a stable `code`.
 * Callers branch on `code` (never on message text); the control plane maps codes to HTTP
 * status in one table (`src/control/error-status.ts`).
 */
export const ERROR_CODES = [
  /** Configuration or environment is invalid; the process cannot start. */
  'INVALID_CONFIG',
  /** A caller passed a malformed value (HTTP body, resume info, SQL, CLI flag). */
  'INVALID_INPUT',
  /** The caller is not authenticated or not allowed. */
  'UNAUTHORIZED',
  /** The thing asked for does not exist (shard, node, session). */
  'NOT_FOUND',
  /** The path exists but not with this HTTP method (the answer's Allow header lists those it has). */
  'METHOD_NOT_ALLOWED',
  /** The request conflicts with the current state (shard already running, seq behind). */
  'CONFLICT',
  /** The operation needs the LiteFS primary and this node is not it. */
  'NOT_PRIMARY',
  /** No primary is known, so writes and assignment changes must wait. */
  'NO_PRIMARY',
  /** A write or seq commit carried an epoch older than the assignment's. */
  'STALE_EPOCH',
  /** Discord refused the session for good (bad token, bad shard, bad intents...). */
  'GATEWAY_FATAL',
  /** The gateway connection failed in a way the caller may retry. */
  'GATEWAY_UNAVAILABLE',
  /** An outbound gateway payload broke a local limit (size, rate). */
  'PAYLOAD_REJECTED',
  /** The identify budget (session_start_limit reserve) refuses a new session. */
  'IDENTIFY_REFUSED',
  /** The database refused a write (read-only replica, full disk, locked). */
  'STORE_UNAVAILABLE',
  /** A bounded wait ran out. */
  'TIMEOUT',
  /** The component was closed while the operation was pending. */
  'CLOSED',
  /** A request body or payload exceeded its size limit. */
  'TOO_LARGE',
  /** Anything not foreseen; a bug report is welcome. */
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ShardlineErrorOptions {
  cause?: unknown;
  /** Machine-readable context (shard id, epoch, primary...). Must not hold secrets. */
  details?: Record<string, unknown>;
}

export class ShardlineError extends Error {
  override readonly name = 'ShardlineError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ShardlineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return Object.keys(this.details).length === 0
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Recognises shardline errors across module copies (no reliance on instanceof alone). */
export function isShardlineError(value: unknown, code?: ErrorCode): value is ShardlineError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { name?: unknown; code?: unknown };
  if (candidate.name !== 'ShardlineError' || typeof candidate.code !== 'string') return false;
  return code === undefined || candidate.code === code;
}

/** The error a cancelled wait rejects with; `signal.reason` when the caller supplied one. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new ShardlineError('CLOSED', 'Operation aborted');
}

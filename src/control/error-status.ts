import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorCode } from '../core/errors.ts';

/** The one place where error codes become HTTP statuses. A test walks every code. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  INVALID_CONFIG: 500,
  INVALID_INPUT: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  NOT_PRIMARY: 409,
  NO_PRIMARY: 503,
  STALE_EPOCH: 409,
  GATEWAY_FATAL: 502,
  GATEWAY_UNAVAILABLE: 503,
  PAYLOAD_REJECTED: 400,
  IDENTIFY_REFUSED: 429,
  STORE_UNAVAILABLE: 503,
  TIMEOUT: 504,
  CLOSED: 503,
  TOO_LARGE: 413,
  INTERNAL: 500,
};

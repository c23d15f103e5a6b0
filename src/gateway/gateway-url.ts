import { ShardlineError } from '../core/errors.ts';

export const GATEWAY_VERSION = 10;

export interface GatewayUrlOptions {
  /** Ask for zlib-stream transport compression. */
  compress: boolean;
}

/**
 * The URL a shard connects to: the gateway (or resume) base URL with `v`, `encoding` and
 * optionally `compress` set. A query the base already carries is replaced, because Discord's
 * URLs come without one and a stale `v`/`compress` would make the socket undecodable.
 */
export function buildGatewayUrl(base: string, options: GatewayUrlOptions): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ShardlineError('INVALID_INPUT', `Invalid gateway URL ${JSON.stringify(base)}: not a URL`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new ShardlineError('INVALID_INPUT', `Invalid gateway URL ${JSON.stringify(base)}: protocol must be ws: or wss:`);
  }
  url.search = '';
  url.hash = '';
  url.searchParams.set('v', String(GATEWAY_VERSION));
  url.searchParams.set('encoding', 'json');
  if (options.compress) url.searchParams.set('compress', 'zlib-stream');
  return url.toString();
}

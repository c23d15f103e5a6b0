import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { GatewayConnection } from './gateway-connection.ts';
import type { ConnectionInfo, GatewayContext } from './gateway-connection.ts';

const GATEWAY_PATHS = new Set(['/', '/gateway', '/resume']);

/** Why a connect URL is refused, as the close code and reason to send after the upgrade. */
export function checkGatewayQuery(url: URL): { code: number; reason: string } | null {
  const v = url.searchParams.get('v');
  if (v !== '10' && v !== '9') return { code: 4012, reason: `Invalid API version ${v ?? '(none)'}` };
  const encoding = url.searchParams.get('encoding') ?? 'json';
  if (encoding !== 'json') return { code: 4002, reason: `Unsupported encoding ${encoding}` };
  const compress = url.searchParams.get('compress');
  if (compress !== null && compress !== 'zlib-stream') return { code: 4002, reason: `Unsupported compression ${compress}` };
  return null;
}

/**
 * The WebSocket side of the sim, attached to the REST server's 'upgrade' event. It accepts
 * `/`, `/gateway` and `/resume` (with or without a trailing slash) and keeps every connection
 * it ever accepted so tests can inspect closed ones too.
 */
export class GatewayServer {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024, perMessageDeflate: false });
  readonly #ctx: GatewayContext;
  readonly #connections: GatewayConnection[] = [];
  #nextId = 1;
  #closed = false;

  constructor(ctx: GatewayContext) {
    this.#ctx = ctx;
  }

  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://sim');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    if (!GATEWAY_PATHS.has(path)) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, url));
  }

  #accept(ws: WebSocket, url: URL): void {
    const refusal = checkGatewayQuery(url);
    const compress = url.searchParams.get('compress') === 'zlib-stream' && refusal === null ? 'zlib-stream' : null;
    const connection = new GatewayConnection(`conn-${this.#nextId++}`, ws, compress, this.#ctx);
    this.#connections.push(connection);
    if (refusal) {
      connection.close(refusal.code, refusal.reason);
      return;
    }
    connection.start();
  }

  /** Open connections; for a shard, those that identified or resumed as that shard. */
  live(shardId?: number): GatewayConnection[] {
    return this.#connections.filter((c) => c.open && (shardId === undefined || c.shardId === shardId));
  }

  connections(shardId?: number): ConnectionInfo[] {
    return this.#connections.filter((c) => shardId === undefined || c.shardId === shardId).map((c) => c.info());
  }

  /** Drops every socket (clients see 1006 and may resume against a later sim) and stops accepting. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const connection of this.#connections) if (connection.open) connection.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

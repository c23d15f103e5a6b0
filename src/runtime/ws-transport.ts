import WebSocket from 'ws';
import { ShardlineError, abortReason } from '../core/errors.ts';
import type { GatewaySocket, GatewaySocketHandlers, GatewayTransport } from '../core/ports.ts';

export interface WsTransportOptions {
  /** Largest frame accepted from the server; bigger ones close the socket (1009). */
  maxPayloadBytes?: number;
  handshakeTimeoutMs?: number;
}

/** GatewayTransport over the `ws` package (Node, and Deno through npm compatibility). */
export function createWsTransport(options: WsTransportOptions = {}): GatewayTransport {
  const maxPayload = options.maxPayloadBytes ?? 16 * 1024 * 1024;
  const handshakeTimeout = options.handshakeTimeoutMs ?? 15_000;
  return {
    connect(url: string, handlers: GatewaySocketHandlers, signal: AbortSignal): Promise<GatewaySocket> {
      if (signal.aborted) return Promise.reject(abortReason(signal));
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { maxPayload, handshakeTimeout, perMessageDeflate: false });
        let opened = false;
        let closed = false;
        const onAbort = (): void => {
          ws.terminate();
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        ws.on('open', () => {
          opened = true;
          signal.removeEventListener('abort', onAbort);
          resolve(wrap(ws));
        });
        ws.on('message', (data, isBinary) => {
          if (!isBinary) handlers.onMessage(String(data));
          else handlers.onMessage(toBytes(data));
        });
        ws.on('error', (error) => {
          if (!opened) {
            signal.removeEventListener('abort', onAbort);
            reject(new ShardlineError('GATEWAY_UNAVAILABLE', `Cannot connect to gateway ${redactQuery(url)}: ${error.message}`, { cause: error }));
          }
        });
        ws.on('close', (code, reason) => {
          if (!opened || closed) return;
          closed = true;
          handlers.onClose(code || 1006, reason.toString());
        });
      });
    },
  };
}

function wrap(ws: WebSocket): GatewaySocket {
  return {
    send(data) {
      if (ws.readyState !== WebSocket.OPEN) {
        throw new ShardlineError('GATEWAY_UNAVAILABLE', `Cannot send on gateway socket: socket state is ${ws.readyState}`);
      }
      ws.send(data);
    },
    close(code, reason) {
      if (ws.readyState === WebSocket.CLOSED) return;
      if (ws.readyState === WebSocket.CONNECTING) {
        ws.terminate();
        return;
      }
      ws.close(code, reason);
      // A peer that never answers the close handshake must not keep the socket alive.
      const timer = setTimeout(() => ws.terminate(), 2_000);
      timer.unref?.();
      ws.once('close', () => clearTimeout(timer));
    },
    pause() {
      ws.pause();
    },
    resume() {
      ws.resume();
    },
    terminate() {
      ws.terminate();
    },
  };
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

function redactQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

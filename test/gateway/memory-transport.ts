import type { GatewaySocket, GatewaySocketHandlers, GatewayTransport } from '../../src/core/ports.ts';

/** The server end of one in-memory socket: scripted frames in, recorded payloads out. */
export class MemoryConnection {
  readonly url: string;
  readonly sent: { op: number; d: unknown }[] = [];
  closedWith: number | null = null;
  paused = false;
  readonly #handlers: GatewaySocketHandlers;
  #open = true;

  constructor(url: string, handlers: GatewaySocketHandlers) {
    this.url = url;
    this.#handlers = handlers;
  }

  get open(): boolean {
    return this.#open;
  }

  readonly socket: GatewaySocket = {
    send: (data) => {
      if (!this.#open) throw new Error('socket closed');
      this.sent.push(JSON.parse(data) as { op: number; d: unknown });
    },
    close: (code) => {
      if (!this.#open) return;
      this.closedWith = code;
      this.#finish(code);
    },
    pause: () => {
      this.paused = true;
    },
    resume: () => {
      this.paused = false;
    },
    terminate: () => this.#finish(1006),
  };

  frame(payload: unknown): void {
    if (this.#open) this.#handlers.onMessage(typeof payload === 'string' ? payload : JSON.stringify(payload));
  }

  hello(intervalMs = 60_000): void {
    this.frame({ op: 10, d: { heartbeat_interval: intervalMs } });
  }

  dispatch(t: string, s: number | null, d: unknown): void {
    this.frame({ op: 0, t, s, d });
  }

  serverClose(code: number): void {
    this.#finish(code);
  }

  ops(): number[] {
    return this.sent.map((p) => p.op);
  }

  #finish(code: number): void {
    if (!this.#open) return;
    this.#open = false;
    queueMicrotask(() => this.#handlers.onClose(code, ''));
  }
}

/** A GatewayTransport whose sockets are MemoryConnections, in connect order. */
export function memoryTransport(): { transport: GatewayTransport; connections: MemoryConnection[]; refuse: { next: number } } {
  const connections: MemoryConnection[] = [];
  const refuse = { next: 0 };
  const transport: GatewayTransport = {
    connect(url, handlers, signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      if (refuse.next > 0) {
        refuse.next--;
        return Promise.reject(new Error(`connection refused: ${url}`));
      }
      const connection = new MemoryConnection(url, handlers);
      connections.push(connection);
      return Promise.resolve(connection.socket);
    },
  };
  return { transport, connections, refuse };
}

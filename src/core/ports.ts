/**
 * The boundaries between shardline's parts. Everything here is a type: `src/core` imports no
 * I/O, and each interface has an adapter per runtime (or per technology) elsewhere.
 */

/** A socket as the shard sees it: the runtime adapter hides `ws` or the global WebSocket. */
export interface GatewaySocket {
  /** Sends one text frame. Throws if the socket is not open. */
  send(data: string): void;
  /** Starts a close handshake; `onClose` fires once it completes (or the socket drops). */
  close(code: number, reason?: string): void;
  /** Stops reading from the network (back-pressure). Frames already received still arrive. */
  pause(): void;
  resume(): void;
  /** Drops the TCP connection without a close frame (tests and dead-peer handling). */
  terminate(): void;
}

export interface GatewaySocketHandlers {
  /** Text frames arrive as strings, binary frames (zlib-stream) as bytes. */
  onMessage(data: string | Uint8Array): void;
  /** Fires exactly once per opened socket. 1006 when the peer vanished without a close frame. */
  onClose(code: number, reason: string): void;
}

export interface GatewayTransport {
  /**
   * Opens a socket to `url`. Resolves once open; rejects (and leaves nothing open) if the
   * connection fails or `signal` aborts first.
   */
  connect(url: string, handlers: GatewaySocketHandlers, signal: AbortSignal): Promise<GatewaySocket>;
}

/**
 * Grants the right to send one IDENTIFY. Locally a per-bucket 5 s spacing; in a cluster the
 * primary's ledger. Must reject promptly when `signal` aborts. RESUME never goes through it.
 */
export interface IdentifyThrottler {
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void>;
}

/** The logger shape shardline uses: a subset of pino's, so tests can pass a capturing fake. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  /** What every line of this logger already carries (pino has it; a logger without it is assumed to carry nothing). */
  bindings?(): Record<string, unknown>;
  trace(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  fatal(obj: object | string, msg?: string): void;
}

/** Time, injectable so policies can be tested without real waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

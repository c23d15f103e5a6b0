import { ShardlineError } from '../core/errors.ts';
import type { FaultState } from './fault-state.ts';
import type { GatewayServer } from './gateway-server.ts';

function checkShard(shardId: number): void {
  if (!Number.isInteger(shardId) || shardId < 0) {
    throw new ShardlineError('INVALID_INPUT', `Cannot inject fault: shard id must be a non-negative integer, got ${String(shardId)}`);
  }
}

/**
 * Server-side chaos on demand. Each fault acts on the shard's live connection(s) (those that
 * identified or resumed as that shard) and returns how many connections it touched.
 */
export class Faults {
  readonly #server: () => GatewayServer | null;
  readonly #state: FaultState;

  constructor(server: () => GatewayServer | null, state: FaultState) {
    this.#server = server;
    this.#state = state;
  }

  /**
   * Sends op 7. With `beforeHello`, the next new connection (any shard: the gateway cannot know
   * a socket's shard before IDENTIFY/RESUME) also gets op 7 instead of HELLO, and the shard's
   * current connection gets op 7 now so that the next connection is most likely its own.
   */
  reconnect(shardId: number, options: { beforeHello?: boolean } = {}): number {
    checkShard(shardId);
    if (options.beforeHello) this.#state.reconnectsBeforeHello += 1;
    return this.#each(shardId, (c) => c.requestReconnect());
  }

  invalidSession(shardId: number, resumable: boolean): number {
    checkShard(shardId);
    return this.#each(shardId, (c) => c.invalidateSession(resumable));
  }

  close(shardId: number, code: number, reason = ''): number {
    checkShard(shardId);
    if (!Number.isInteger(code) || !(code === 1000 || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999))) {
      throw new ShardlineError('INVALID_INPUT', `Cannot close shard ${shardId}: ${String(code)} is not a code a WebSocket close frame may carry`);
    }
    return this.#each(shardId, (c) => c.close(code, reason));
  }

  withholdAcks(shardId: number, on: boolean): void {
    checkShard(shardId);
    if (on) this.#state.withheldAcks.add(shardId);
    else this.#state.withheldAcks.delete(shardId);
  }

  dropTcp(shardId: number): number {
    checkShard(shardId);
    return this.#each(shardId, (c) => c.terminate());
  }

  delayReady(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new ShardlineError('INVALID_INPUT', `Cannot delay READY: ${String(ms)} is not a non-negative number of ms`);
    this.#state.readyDelayMs = ms;
  }

  /** Bytes as they are, past the connection's compression: bad zlib data, text on a zlib-stream socket. */
  sendRaw(shardId: number, frame: string | Uint8Array): number {
    checkShard(shardId);
    return this.#each(shardId, (c) => c.sendRaw(frame));
  }

  /**
   * Text the way the gateway sends its frames (through the connection's zlib stream when it has
   * one), but not sequenced and not in the ledger: a malformed or out-of-protocol frame that
   * decodes cleanly, to reach the client's parsing and protocol checks behind the inflater.
   */
  sendFrame(shardId: number, text: string): number {
    checkShard(shardId);
    return this.#each(shardId, (c) => c.sendFrame(text));
  }

  #each(shardId: number, act: (connection: ReturnType<GatewayServer['live']>[number]) => void): number {
    const live = this.#server()?.live(shardId) ?? [];
    for (const connection of live) act(connection);
    return live.length;
  }
}

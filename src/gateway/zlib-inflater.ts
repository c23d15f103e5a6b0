import { constants, createInflate } from 'node:zlib';
import type { Inflate } from 'node:zlib';
import { ShardlineError } from '../core/errors.ts';

const SYNC_FLUSH_SUFFIX = [0x00, 0x00, 0xff, 0xff] as const;

export interface ZlibInflaterOptions {
  /** Largest inflated message accepted; bigger ones fail like garbage does. */
  maxMessageBytes?: number;
}

/** Node's zlib binding as zlib.js drives it for inflateSync (`processChunkSync`); Deno's node:zlib has the same shape. */
interface SyncHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  /** Called by the binding, synchronously, when zlib reports an error. */
  onerror?: (this: SyncHandle, message: string, errno: number, code?: string) => void;
}
type InflateInternals = Inflate & { _handle?: SyncHandle | null; _writeState?: Uint32Array };

/** Output buffer kept per socket; most dispatches fit, a big GUILD_CREATE takes a few rounds. */
const OUT_BYTES = 64 * 1024;

interface Current {
  resolve: (text: string) => void;
  reject: (error: Error) => void;
}

/**
 * The zlib-stream decoder of one socket: one inflate context for the socket's life. Frames
 * are buffered until one ends with the Z_SYNC_FLUSH marker, then the whole message is
 * inflated. Messages come out in order. Once the stream is corrupt every later message
 * fails too: the caller must drop the socket (a new socket gets a new inflater).
 *
 * Where the runtime exposes zlib's native handle (Node, Deno) the context is driven
 * synchronously, as zlib.js does for inflateSync: one call per message, no thread-pool round
 * trip, no new context or dictionary per message. Otherwise messages go through the async
 * stream.
 */
export class ZlibInflater {
  readonly #maxMessageBytes: number;
  readonly #inflate: InflateInternals;
  readonly #sync: boolean;
  /** Synchronous mode: reused for every message; replaced by a bigger one only while a message overflows it. */
  #outBuffer: Buffer | null = null;
  #buffered: Uint8Array[] = [];
  #bufferedBytes = 0;
  #out: Buffer[] = [];
  #outBytes = 0;
  /** Messages written to the inflate stream whose flush has not completed, oldest first. */
  #waiting: Current[] = [];
  #failure: Error | null = null;
  /** What the binding reported during the current synchronous write. */
  #zlibError: string | null = null;

  constructor(options: ZlibInflaterOptions & { mode?: 'auto' | 'sync' | 'stream' } = {}) {
    this.#maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
    const mode = options.mode ?? 'auto';
    this.#inflate = createInflate({ chunkSize: 64 * 1024 });
    const hasHandle = typeof this.#inflate._handle?.writeSync === 'function' && this.#inflate._writeState instanceof Uint32Array;
    if (mode === 'sync' && !hasHandle) {
      this.#inflate.destroy();
      throw new ShardlineError('INVALID_CONFIG', 'Cannot inflate zlib-stream synchronously: this runtime exposes no zlib handle');
    }
    this.#sync = mode !== 'stream' && hasHandle;
    // A synchronous zlib error destroys the stream, which emits 'error' later; #inflateSync already reported it.
    this.#inflate.on('error', (error: Error) => {
      if (!this.#sync) this.#fail(new ShardlineError('INVALID_INPUT', `Corrupt zlib-stream data: ${error.message}`, { cause: error }));
    });
    if (this.#sync) {
      this.#outBuffer = Buffer.allocUnsafe(OUT_BYTES);
      // Node destroys the stream inside onerror, Deno only on the next tick: catch it at the source.
      const handle = this.#inflate._handle!;
      const report = handle.onerror;
      handle.onerror = (message, errno, code) => {
        this.#zlibError = `${message}${code ? ` (${code})` : ''}`;
        report?.call(handle, message, errno, code);
      };
      return;
    }
    this.#inflate.on('data', (chunk: Buffer) => {
      this.#outBytes += chunk.length;
      if (this.#outBytes > this.#maxMessageBytes) {
        this.#fail(new ShardlineError('TOO_LARGE', `zlib-stream message inflates beyond ${this.#maxMessageBytes} bytes`));
        return;
      }
      this.#out.push(chunk);
    });
  }

  /** True when messages inflate synchronously (push returns strings, never promises). */
  get synchronous(): boolean {
    return this.#sync;
  }

  /**
   * Feeds one binary frame. Returns null while the message is incomplete, otherwise the
   * message text (synchronous mode) or a promise of it (stream mode). Corrupt data throws
   * or rejects INVALID_INPUT; oversized data TOO_LARGE.
   */
  push(frame: Uint8Array): string | Promise<string> | null {
    this.#bufferedBytes += frame.length;
    if (this.#bufferedBytes > this.#maxMessageBytes) {
      this.#buffered = [];
      this.#bufferedBytes = 0;
      const error = new ShardlineError('TOO_LARGE', `zlib-stream message exceeds ${this.#maxMessageBytes} compressed bytes without a flush marker`);
      if (this.#sync) throw error;
      return Promise.reject(error);
    }
    if (!endsWithSyncFlush(frame)) {
      this.#buffered.push(frame);
      return null;
    }
    let message = frame;
    if (this.#buffered.length > 0) {
      this.#buffered.push(frame);
      message = concat(this.#buffered, this.#bufferedBytes);
    }
    this.#buffered = [];
    this.#bufferedBytes = 0;
    return this.#sync ? this.#inflateSync(message) : this.#inflateOne(message);
  }

  /** Frees the inflate context; pending messages reject. */
  close(): void {
    this.#fail(new ShardlineError('CLOSED', 'zlib-stream inflater closed'));
  }

  /**
   * One message through the native handle with Z_SYNC_FLUSH. The handle reports how much
   * output room and input it left; a full output buffer means zlib has more for this flush.
   * A zlib error destroys the stream synchronously (zlib.js's onerror), which is how it shows.
   */
  #inflateSync(message: Uint8Array): string {
    if (this.#failure) throw this.#failure;
    const handle = this.#inflate._handle!;
    const state = this.#inflate._writeState!;
    let out = this.#outBuffer!;
    let parts: Buffer[] | null = null;
    let total = 0;
    let inOff = 0;
    let inLen = message.length;
    for (;;) {
      try {
        handle.writeSync(constants.Z_SYNC_FLUSH, message, inOff, inLen, out, 0, out.length);
      } catch (error) {
        throw this.#corrupt(error);
      }
      if (this.#zlibError !== null || this.#inflate.destroyed) throw this.#corrupt(new Error(this.#zlibError ?? this.#inflate.errored?.message ?? 'zlib stream failed'));
      const availOut = state[0]!;
      const availIn = state[1]!;
      const produced = out.length - availOut;
      total += produced;
      if (total > this.#maxMessageBytes) {
        this.#fail(new ShardlineError('TOO_LARGE', `zlib-stream message inflates beyond ${this.#maxMessageBytes} bytes`));
        throw this.#failure!;
      }
      inOff += inLen - availIn;
      inLen = availIn;
      if (availOut !== 0) {
        // Room left with input unread: the deflate stream ended and something follows it.
        if (availIn !== 0) throw this.#corrupt(new Error('data after the end of the zlib stream'));
        if (parts === null) return out.toString('utf8', 0, produced);
        parts.push(out.subarray(0, produced));
        return Buffer.concat(parts, total).toString('utf8');
      }
      // Output full: keep it (a copy of the reused buffer) and go on in a buffer as big as all
      // so far, but no bigger than the limit needs to tell an oversized message.
      (parts ??= []).push(out === this.#outBuffer ? Buffer.from(out) : out);
      out = Buffer.allocUnsafe(Math.min(Math.max(OUT_BYTES, total), this.#maxMessageBytes - total + 1));
    }
  }

  #corrupt(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    this.#fail(new ShardlineError('INVALID_INPUT', `Corrupt zlib-stream data: ${message}`, { cause: error }));
    return this.#failure!;
  }

  /**
   * Stream mode, for runtimes without raw preset dictionaries. Messages are pipelined: each is written with its own Z_SYNC_FLUSH right away, so several
   * can be in the thread pool at once. A flush callback fires after that message's output
   * was emitted and before the next message's output starts, so the output gathered since
   * the previous callback is exactly this message.
   */
  #inflateOne(message: Uint8Array): Promise<string> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<string>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#inflate.write(message);
      this.#inflate.flush(constants.Z_SYNC_FLUSH, () => {
        if (this.#failure) return;
        const current = this.#waiting.shift();
        const text = Buffer.concat(this.#out, this.#outBytes).toString('utf8');
        this.#out = [];
        this.#outBytes = 0;
        current?.resolve(text);
      });
    });
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#out = [];
    this.#outBuffer = null;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const current of waiting) current.reject(error);
    if (!this.#inflate.destroyed) this.#inflate.destroy();
  }
}

function endsWithSyncFlush(frame: Uint8Array): boolean {
  const n = frame.length;
  if (n < 4) return false;
  return (
    frame[n - 4] === SYNC_FLUSH_SUFFIX[0] &&
    frame[n - 3] === SYNC_FLUSH_SUFFIX[1] &&
    frame[n - 2] === SYNC_FLUSH_SUFFIX[2] &&
    frame[n - 1] === SYNC_FLUSH_SUFFIX[3]
  );
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

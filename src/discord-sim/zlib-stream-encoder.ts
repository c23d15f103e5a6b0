import { constants, createDeflate, createDeflateRaw } from 'node:zlib';
import type { Deflate } from 'node:zlib';

/** Node's zlib binding as its own sync path uses it (zlib.js `processChunkSync`). */
interface SyncHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
}
type DeflateInternals = Deflate & { _handle?: SyncHandle | null; _writeState?: Uint32Array };

const OUT_CHUNK = 16 * 1024;
const EMPTY = Buffer.alloc(0);

export interface ZlibStreamEncoderOptions {
  /**
   * No zlib header: the output continues a stream another encoder started (a replayed chunk,
   * see traffic-replay.ts). Its window starts empty, so it refers to nothing before it.
   */
  readonly raw?: boolean;
}

/**
 * Discord's zlib-stream transport: one deflate context per connection; each gateway message is
 * flushed with Z_SYNC_FLUSH so its bytes end with 00 00 FF FF and go out as one binary frame.
 *
 * Node has no public synchronous streaming deflate, and the async stream costs one thread-pool
 * round trip per message (about 10k messages/s per socket, which made the sim the bottleneck
 * of benchmarks). So where Node's binding is present the encoder drives it synchronously,
 * as zlib.js itself does for deflateSync (about 130k messages/s); elsewhere (other runtimes)
 * it falls back to the async stream, which keeps order because one stream processes writes in
 * order. `whenIdle` lets a close wait for the last frame in the async case.
 */
export class ZlibStreamEncoder {
  readonly #deflate: DeflateInternals;
  readonly #sync: boolean;
  #chunks: Buffer[] = [];
  #pending = 0;
  #idle: Array<() => void> = [];
  #closed = false;
  #resetBeforeNext = false;

  constructor(options: ZlibStreamEncoderOptions = {}) {
    this.#deflate = (options.raw ? createDeflateRaw() : createDeflate()) as DeflateInternals;
    this.#sync = typeof this.#deflate._handle?.writeSync === 'function' && this.#deflate._writeState instanceof Uint32Array;
    this.#deflate.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    // A deflate error can only follow close(); nothing is left to deliver then.
    this.#deflate.on('error', () => {});
  }

  /** Compresses `text` and hands the frame to `onFrame` once deflated (in call order). */
  encode(text: string, onFrame: (frame: Buffer) => void): void {
    if (this.#closed) return;
    const reset = this.#resetBeforeNext;
    this.#resetBeforeNext = false;
    if (this.#sync) {
      const out: Buffer[] = [];
      if (reset) this.#encodeSync(EMPTY, constants.Z_FULL_FLUSH, out);
      this.#encodeSync(Buffer.from(text, 'utf8'), constants.Z_SYNC_FLUSH, out);
      onFrame(out.length === 1 ? out[0]! : Buffer.concat(out));
      return;
    }
    this.#pending += 1;
    if (reset) this.#deflate.flush(constants.Z_FULL_FLUSH);
    this.#deflate.write(Buffer.from(text, 'utf8'));
    this.#deflate.flush(constants.Z_SYNC_FLUSH, () => {
      this.#pending -= 1;
      const frame = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      this.#chunks = [];
      if (!this.#closed) onFrame(frame);
      if (this.#pending === 0) this.#drainIdle();
    });
  }

  /**
   * The client's inflater saw bytes this encoder did not produce (a replayed chunk from another
   * encoder): the next frame starts with a full flush, so it refers to nothing before it.
   */
  resetHistory(): void {
    this.#resetBeforeNext = true;
  }

  /** Runs `fn` after every frame encoded so far was handed out (at once if none is pending). */
  whenIdle(fn: () => void): void {
    if (this.#pending === 0 || this.#closed) {
      fn();
      return;
    }
    this.#idle.push(fn);
  }

  #encodeSync(input: Buffer, flush: number, out: Buffer[]): void {
    const handle = this.#deflate._handle!;
    const state = this.#deflate._writeState!;
    let inOff = 0;
    let inLen = input.length;
    for (;;) {
      const buffer = Buffer.allocUnsafe(OUT_CHUNK);
      handle.writeSync(flush, input, inOff, inLen, buffer, 0, OUT_CHUNK);
      const availOut = state[0]!;
      const availIn = state[1]!;
      if (availOut < OUT_CHUNK) out.push(buffer.subarray(0, OUT_CHUNK - availOut));
      inOff += inLen - availIn;
      inLen = availIn;
      // A full output buffer means zlib has more to give for this flush.
      if (availOut !== 0) break;
    }
  }

  get synchronous(): boolean {
    return this.#sync;
  }

  get pending(): number {
    return this.#pending;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#deflate.close();
    this.#drainIdle();
  }

  #drainIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const fn of idle) fn();
  }
}

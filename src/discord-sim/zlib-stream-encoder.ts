import { constants, createDeflate } from 'node:zlib';
import type { Deflate } from 'node:zlib';

/**
 * Discord's zlib-stream transport: one deflate context per connection; each gateway message is
 * flushed with Z_SYNC_FLUSH so its bytes end with 00 00 FF FF and go out as one binary frame.
 * Node's deflate is asynchronous, but a single stream processes writes in order, so frames
 * come out in the order messages went in; `whenIdle` lets a close wait for the last frame.
 */
export class ZlibStreamEncoder {
  readonly #deflate: Deflate;
  #chunks: Buffer[] = [];
  #pending = 0;
  #idle: Array<() => void> = [];
  #closed = false;

  constructor() {
    this.#deflate = createDeflate();
    this.#deflate.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    // A deflate error can only follow close(); nothing is left to deliver then.
    this.#deflate.on('error', () => {});
  }

  /** Compresses `text` and hands the frame to `onFrame` once deflated (in call order). */
  encode(text: string, onFrame: (frame: Buffer) => void): void {
    if (this.#closed) return;
    this.#pending += 1;
    this.#deflate.write(Buffer.from(text, 'utf8'));
    this.#deflate.flush(constants.Z_SYNC_FLUSH, () => {
      this.#pending -= 1;
      const frame = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
      this.#chunks = [];
      if (!this.#closed) onFrame(frame);
      if (this.#pending === 0) this.#drainIdle();
    });
  }

  /** Runs `fn` after every frame encoded so far was handed out (at once if none is pending). */
  whenIdle(fn: () => void): void {
    if (this.#pending === 0 || this.#closed) {
      fn();
      return;
    }
    this.#idle.push(fn);
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

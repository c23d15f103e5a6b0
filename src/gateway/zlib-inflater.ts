import { constants, createInflate } from 'node:zlib';
import type { Inflate } from 'node:zlib';
import { ShardlineError } from '../core/errors.ts';

const SYNC_FLUSH_SUFFIX = [0x00, 0x00, 0xff, 0xff] as const;

export interface ZlibInflaterOptions {
  /** Largest inflated message accepted; bigger ones fail like garbage does. */
  maxMessageBytes?: number;
}

interface Current {
  resolve: (text: string) => void;
  reject: (error: Error) => void;
}

/**
 * The zlib-stream decoder of one socket: one inflate context for the socket's life. Frames
 * are buffered until one ends with the Z_SYNC_FLUSH marker, then the whole message is
 * inflated. Messages come out in order. Once the stream is corrupt every later message
 * fails too: the caller must drop the socket (a new socket gets a new inflater).
 */
export class ZlibInflater {
  readonly #maxMessageBytes: number;
  readonly #inflate: Inflate;
  #buffered: Uint8Array[] = [];
  #bufferedBytes = 0;
  #out: Buffer[] = [];
  #outBytes = 0;
  /** Messages written to the inflate stream whose flush has not completed, oldest first. */
  #waiting: Current[] = [];
  #failure: Error | null = null;

  constructor(options: ZlibInflaterOptions = {}) {
    this.#maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
    this.#inflate = createInflate({ chunkSize: 64 * 1024 });
    this.#inflate.on('data', (chunk: Buffer) => {
      this.#outBytes += chunk.length;
      if (this.#outBytes > this.#maxMessageBytes) {
        this.#fail(new ShardlineError('TOO_LARGE', `zlib-stream message inflates beyond ${this.#maxMessageBytes} bytes`));
        return;
      }
      this.#out.push(chunk);
    });
    this.#inflate.on('error', (error: Error) => {
      this.#fail(new ShardlineError('INVALID_INPUT', `Corrupt zlib-stream data: ${error.message}`, { cause: error }));
    });
  }

  /**
   * Feeds one binary frame. Returns null while the message is incomplete, otherwise a
   * promise of the message text (rejecting with INVALID_INPUT or TOO_LARGE when corrupt).
   */
  push(frame: Uint8Array): Promise<string> | null {
    this.#bufferedBytes += frame.length;
    if (this.#bufferedBytes > this.#maxMessageBytes) {
      this.#buffered = [];
      this.#bufferedBytes = 0;
      return Promise.reject(new ShardlineError('TOO_LARGE', `zlib-stream message exceeds ${this.#maxMessageBytes} compressed bytes without a flush marker`));
    }
    this.#buffered.push(frame);
    if (!endsWithSyncFlush(frame)) return null;
    const message = this.#buffered.length === 1 ? frame : concat(this.#buffered, this.#bufferedBytes);
    this.#buffered = [];
    this.#bufferedBytes = 0;
    return this.#inflateOne(message);
  }

  /** Frees the inflate context; pending messages reject. */
  close(): void {
    this.#fail(new ShardlineError('CLOSED', 'zlib-stream inflater closed'));
  }

  /**
   * Messages are pipelined: each is written with its own Z_SYNC_FLUSH right away, so several
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
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const current of waiting) current.reject(error);
    this.#inflate.destroy();
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

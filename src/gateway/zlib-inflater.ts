import { constants, createInflate, inflateRawSync } from 'node:zlib';
import type { Inflate } from 'node:zlib';
import { ShardlineError } from '../core/errors.ts';

const SYNC_FLUSH_SUFFIX = [0x00, 0x00, 0xff, 0xff] as const;

export interface ZlibInflaterOptions {
  /** Largest inflated message accepted; bigger ones fail like garbage does. */
  maxMessageBytes?: number;
}

/** deflate's largest window: no back-reference reaches further than this. */
const WINDOW_BYTES = 32 * 1024;
/** "shardline shardline shardline" raw-deflated against the dictionary "shardline ". */
const DICTIONARY_PROBE = { dictionary: 'shardline ', compressed: [43, 198, 199, 2, 0], text: 'shardline shardline shardline' } as const;

/**
 * Whether this runtime's raw inflate honours a preset dictionary (Node does; Deno 2's
 * node:zlib ignores it). Checked per inflater: it costs one tiny inflate.
 */
function rawDictionarySupported(): boolean {
  try {
    const out = inflateRawSync(new Uint8Array(DICTIONARY_PROBE.compressed), { dictionary: new TextEncoder().encode(DICTIONARY_PROBE.dictionary) });
    return out.toString('utf8') === DICTIONARY_PROBE.text;
  } catch {
    return false;
  }
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
  readonly #inflate: Inflate | null;
  /** Synchronous mode: the last 32 KiB of output, the only state one message needs from the past. */
  #window: Buffer | null = null;
  #firstMessage = true;
  #buffered: Uint8Array[] = [];
  #bufferedBytes = 0;
  #out: Buffer[] = [];
  #outBytes = 0;
  /** Messages written to the inflate stream whose flush has not completed, oldest first. */
  #waiting: Current[] = [];
  #failure: Error | null = null;

  constructor(options: ZlibInflaterOptions & { mode?: 'auto' | 'sync' | 'stream' } = {}) {
    this.#maxMessageBytes = options.maxMessageBytes ?? 64 * 1024 * 1024;
    const mode = options.mode ?? 'auto';
    if (mode === 'sync' || (mode === 'auto' && rawDictionarySupported())) {
      this.#inflate = null;
      this.#window = Buffer.alloc(0);
      return;
    }
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

  /** True when messages inflate synchronously (push returns strings, never promises). */
  get synchronous(): boolean {
    return this.#inflate === null;
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
      if (this.synchronous) throw error;
      return Promise.reject(error);
    }
    this.#buffered.push(frame);
    if (!endsWithSyncFlush(frame)) return null;
    const message = this.#buffered.length === 1 ? frame : concat(this.#buffered, this.#bufferedBytes);
    this.#buffered = [];
    this.#bufferedBytes = 0;
    return this.synchronous ? this.#inflateWindowed(message) : this.#inflateOne(message);
  }

  /** Frees the inflate context; pending messages reject. */
  close(): void {
    this.#fail(new ShardlineError('CLOSED', 'zlib-stream inflater closed'));
  }

  /**
   * Synchronous decoding without a long-lived zlib context: after a Z_SYNC_FLUSH every new
   * message starts a fresh deflate block, and the only state it can use from earlier
   * messages is the 32 KiB window. So each message is raw-inflated on its own with that
   * window as preset dictionary (the first one after its 2-byte zlib header).
   */
  #inflateWindowed(message: Uint8Array): string {
    if (this.#failure) throw this.#failure;
    let out: Buffer;
    try {
      const body = this.#firstMessage ? message.subarray(2) : message;
      if (this.#firstMessage && !(message.length >= 2 && (message[0]! & 0x0f) === 8 && (message[1]! & 0x20) === 0)) {
        throw new Error('missing zlib header');
      }
      out = inflateRawSync(body, {
        finishFlush: constants.Z_SYNC_FLUSH,
        maxOutputLength: this.#maxMessageBytes,
        ...(this.#window!.length > 0 ? { dictionary: this.#window! } : {}),
      });
    } catch (error) {
      const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      this.#fail(
        tooLarge
          ? new ShardlineError('TOO_LARGE', `zlib-stream message inflates beyond ${this.#maxMessageBytes} bytes`)
          : new ShardlineError('INVALID_INPUT', `Corrupt zlib-stream data: ${(error as Error).message}`, { cause: error }),
      );
      throw this.#failure;
    }
    this.#firstMessage = false;
    const window = this.#window!;
    this.#window =
      out.length >= WINDOW_BYTES
        ? Buffer.from(out.subarray(out.length - WINDOW_BYTES))
        : Buffer.concat([window.subarray(Math.max(0, window.length + out.length - WINDOW_BYTES)), out]);
    return out.toString('utf8');
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
      this.#inflate!.write(message);
      this.#inflate!.flush(constants.Z_SYNC_FLUSH, () => {
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
    this.#window = null;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const current of waiting) current.reject(error);
    this.#inflate?.destroy();
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

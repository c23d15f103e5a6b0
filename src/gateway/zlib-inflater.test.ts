import { constants, createDeflate } from 'node:zlib';
import type { Deflate } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ZlibInflater } from './zlib-inflater.ts';

/** The server side of zlib-stream: one deflate context, Z_SYNC_FLUSH after every message. */
function deflater(): { deflate: Deflate; compress: (text: string) => Promise<Uint8Array> } {
  const deflate = createDeflate();
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  return {
    deflate,
    compress: (text) =>
      new Promise((resolve) => {
        deflate.write(text);
        deflate.flush(constants.Z_SYNC_FLUSH, () => resolve(new Uint8Array(Buffer.concat(out.splice(0)))));
      }),
  };
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

describe.each([['sync' as const], ['stream' as const]])('ZlibInflater (%s mode)', (mode) => {
  function inflater(maxMessageBytes?: number): ZlibInflater {
    const i = new ZlibInflater(maxMessageBytes === undefined ? { mode } : { maxMessageBytes, mode });
    expect(i.synchronous).toBe(mode === 'sync');
    open.push(i);
    return i;
  }
  /** Both modes as a promise: a synchronous throw becomes a rejection. */
  const push = (i: ZlibInflater, frame: Uint8Array): Promise<string> | null => {
    try {
      const out = i.push(frame);
      return out === null ? null : Promise.resolve(out);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  it('decodes successive messages that share one context, in order', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater();
    const messages = Array.from({ length: 50 }, (_, i) => JSON.stringify({ op: 0, s: i, d: { text: 'hello '.repeat(i) } }));
    const results: Promise<string>[] = [];
    for (const m of messages) {
      const frame = await compress(m);
      expect([...frame.slice(-4)]).toEqual([0, 0, 0xff, 0xff]);
      results.push(push(inf, frame)!);
    }
    expect(await Promise.all(results)).toEqual(messages);
  });

  it('keeps message boundaries when many messages (small and multi-chunk) are in flight at once', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater();
    const messages = Array.from({ length: 200 }, (_, i) => (i % 17 === 0 ? 'z'.repeat(200_000 + i) : JSON.stringify({ s: i })));
    const frames: Uint8Array[] = [];
    for (const m of messages) frames.push(await compress(m));
    const results = frames.map((f) => push(inf, f)!);
    expect(await Promise.all(results)).toEqual(messages);
  });

  it('buffers a message split across frames until the flush marker', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater();
    const big = JSON.stringify({ op: 0, d: { blob: Array.from({ length: 20_000 }, (_, i) => i * 7919 % 1000) } });
    const frame = await compress(big);
    const cut = Math.floor(frame.length / 3);
    expect(push(inf, frame.slice(0, cut))).toBeNull();
    expect(push(inf, frame.slice(cut, 2 * cut))).toBeNull();
    expect(await push(inf, frame.slice(2 * cut))).toBe(big);
  });

  it('inflates a multi-megabyte message (more output than one chunk)', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater();
    const huge = 'x'.repeat(3 * 1024 * 1024);
    expect(await push(inf, await compress(huge))).toBe(huge);
    expect(await push(inf, await compress('after'))).toBe('after');
  });

  it('inflates messages whose size lands on and around the output buffer size, multi-byte characters across the boundary', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater();
    const sizes = [65_535, 65_536, 65_537, 131_072, 200_001];
    const messages = sizes.flatMap((n) => ['a'.repeat(n), `${'b'.repeat(n % 7)}${'\u00e9\u20ac\u{1f600}'.repeat(Math.ceil(n / 9))}`]);
    for (const m of messages) expect(await push(inf, await compress(m))).toBe(m);
  });

  it('accepts a message of exactly maxMessageBytes', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater(100_000);
    const exact = 'q'.repeat(100_000);
    expect(await push(inf, await compress(exact))).toBe(exact);
    expect(await push(inf, await compress('next'))).toBe('next');
  });

  it('fails a stream corrupted after good messages with INVALID_INPUT, then every later message', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater();
    expect(await push(inf, await compress('first message'))).toBe('first message');
    const good = await compress('second message, which gets corrupted');
    const bad = new Uint8Array(good);
    bad.fill(0xff, 0, Math.max(1, bad.length - 4));
    await expect(push(inf, bad)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(push(inf, await compress('third'))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('rejects every message after close() with CLOSED', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater();
    const frame = await compress('late');
    inf.close();
    await expect(push(inf, frame)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('rejects garbage with INVALID_INPUT and every later message too', async () => {
    const inf = inflater();
    const garbage = new Uint8Array([1, 2, 3, 4, 5, 6, 0, 0, 0xff, 0xff]);
    await expect(push(inf, garbage)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(push(inf, new Uint8Array([0x78, 0x9c, 0, 0, 0xff, 0xff]))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('rejects a message that inflates past maxMessageBytes with TOO_LARGE', async () => {
    const { deflate, compress } = deflater();
    open.push({ close: () => deflate.destroy() });
    const inf = inflater(1024);
    await expect(push(inf, await compress('y'.repeat(100_000)))).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});

describe('ZlibInflater mode selection', () => {
  it('picks synchronous decoding where zlib exposes its native handle (Node and Deno)', () => {
    const i = new ZlibInflater();
    open.push(i);
    expect(i.synchronous).toBe(true);
  });
});

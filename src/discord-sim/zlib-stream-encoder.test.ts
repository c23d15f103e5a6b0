import { constants, createInflate } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ZlibStreamEncoder } from './zlib-stream-encoder.ts';

async function inflateAll(frames: Buffer[]): Promise<string[]> {
  const inflate = createInflate();
  const out: string[] = [];
  let pending: Buffer[] = [];
  inflate.on('data', (chunk: Buffer) => pending.push(chunk));
  for (const frame of frames) {
    await new Promise<void>((resolve) => {
      inflate.write(frame);
      inflate.flush(constants.Z_SYNC_FLUSH, () => resolve());
    });
    out.push(Buffer.concat(pending).toString());
    pending = [];
  }
  inflate.close();
  return out;
}

describe('ZlibStreamEncoder', () => {
  it('emits one sync-flushed frame per message, in order, decodable with one inflate context', async () => {
    const encoder = new ZlibStreamEncoder();
    const messages = ['{"op":10}', `{"big":"${'ab'.repeat(60_000)}"}`, ...Array.from({ length: 50 }, (_, i) => `{"i":${i}}`)];
    const frames: Buffer[] = [];
    for (const m of messages) encoder.encode(m, (frame) => frames.push(frame));
    await new Promise<void>((resolve) => encoder.whenIdle(resolve));
    expect(frames).toHaveLength(messages.length);
    expect(frames[0]!.subarray(0, 2).toString('hex')).toBe('789c');
    for (const frame of frames) expect(frame.subarray(-4).toString('hex')).toBe('0000ffff');
    expect(await inflateAll(frames)).toEqual(messages);
    encoder.close();
  });

  it('uses the synchronous path on Node', () => {
    const encoder = new ZlibStreamEncoder();
    let got: Buffer | undefined;
    encoder.encode('{"op":11}', (frame) => (got = frame));
    expect(encoder.synchronous).toBe(true);
    expect(got).toBeDefined();
    encoder.close();
  });
});

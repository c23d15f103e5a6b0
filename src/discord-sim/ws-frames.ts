/**
 * Server-to-client WebSocket frames (RFC 6455: unmasked, FIN set, one fragment each), built
 * ahead of time so a replayed burst is written with one socket write per chunk instead of one
 * `ws.send()` per message.
 */

export const TEXT_FRAME = 0x1;
export const BINARY_FRAME = 0x2;

function headerLength(payloadLength: number): number {
  if (payloadLength < 126) return 2;
  return payloadLength < 0x10000 ? 4 : 10;
}

function writeHeader(target: Buffer, offset: number, opcode: number, payloadLength: number): number {
  target[offset] = 0x80 | opcode;
  if (payloadLength < 126) {
    target[offset + 1] = payloadLength;
    return offset + 2;
  }
  if (payloadLength < 0x10000) {
    target[offset + 1] = 126;
    target.writeUInt16BE(payloadLength, offset + 2);
    return offset + 4;
  }
  target[offset + 1] = 127;
  target.writeUInt32BE(Math.floor(payloadLength / 0x1_0000_0000), offset + 2);
  target.writeUInt32BE(payloadLength >>> 0, offset + 6);
  return offset + 10;
}

/** One buffer holding a text frame per string, in order. */
export function textFrames(texts: readonly string[]): Buffer {
  const lengths = texts.map((text) => Buffer.byteLength(text, 'utf8'));
  const total = lengths.reduce((sum, n) => sum + headerLength(n) + n, 0);
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  texts.forEach((text, i) => {
    offset = writeHeader(out, offset, TEXT_FRAME, lengths[i]!);
    offset += out.write(text, offset, 'utf8');
  });
  return out;
}

/** One buffer holding a binary frame per payload, in order. */
export function binaryFrames(payloads: readonly Uint8Array[]): Buffer {
  const total = payloads.reduce((sum, p) => sum + headerLength(p.byteLength) + p.byteLength, 0);
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const payload of payloads) {
    offset = writeHeader(out, offset, BINARY_FRAME, payload.byteLength);
    out.set(payload, offset);
    offset += payload.byteLength;
  }
  return out;
}

import type { GatewayReceivePayload } from 'discord-api-types/v10';

export type ParsedFrame = { ok: true; payload: GatewayReceivePayload } | { ok: false; problem: string };

/**
 * Parses one gateway message. Anything that is not a JSON object with an integer `op`
 * (and, for dispatches, a string `t` and an integer or null `s`) is a bad frame: the caller
 * reconnects instead of guessing.
 */
export function parseGatewayFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `invalid JSON (${(error as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'payload is not a JSON object' };
  }
  const frame = value as { op?: unknown; s?: unknown; t?: unknown };
  if (typeof frame.op !== 'number' || !Number.isInteger(frame.op)) {
    return { ok: false, problem: `op is ${JSON.stringify(frame.op)}, expected an integer` };
  }
  if (frame.op === 0) {
    if (typeof frame.t !== 'string') return { ok: false, problem: 'dispatch without an event name (t)' };
    if (frame.s !== null && frame.s !== undefined && !(typeof frame.s === 'number' && Number.isSafeInteger(frame.s) && frame.s >= 0)) {
      return { ok: false, problem: `dispatch ${frame.t} has seq ${JSON.stringify(frame.s)}` };
    }
  }
  return { ok: true, payload: value as GatewayReceivePayload };
}

/** UTF-8 size of a string without Buffer (runtime-neutral). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

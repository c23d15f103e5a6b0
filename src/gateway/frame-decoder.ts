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
      return { ok: false, problem: `dispatch ${frame.t.slice(0, 64)} has seq ${JSON.stringify(frame.s)}` };
    }
    if (frame.t === 'READY') {
      // The session a READY starts is resumed from elsewhere later: it must be one we can resume.
      const d = (frame as { d?: unknown }).d as { session_id?: unknown; resume_gateway_url?: unknown } | null | undefined;
      const sessionId = typeof d === 'object' && d !== null ? d.session_id : undefined;
      if (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > 256) return { ok: false, problem: 'READY without a session_id (a string of 1-256 characters)' };
      const url = d!.resume_gateway_url;
      if (url !== undefined && url !== null && (typeof url !== 'string' || !/^wss?:\/\/\S{1,2000}$/.test(url))) return { ok: false, problem: 'READY with a resume_gateway_url that is not a ws:// or wss:// URL' };
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

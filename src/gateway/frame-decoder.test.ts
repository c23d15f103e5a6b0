import { describe, expect, it } from 'vitest';
import { parseGatewayFrame, utf8Length } from './frame-decoder.ts';

describe('parseGatewayFrame', () => {
  it('accepts well-formed control frames and dispatches', () => {
    expect(parseGatewayFrame('{"op":10,"d":{"heartbeat_interval":1000}}')).toMatchObject({ ok: true, payload: { op: 10 } });
    expect(parseGatewayFrame('{"op":0,"t":"RESUMED","s":null,"d":{}}')).toMatchObject({ ok: true });
    expect(parseGatewayFrame('{"op":0,"t":"MESSAGE_CREATE","s":7,"d":{}}')).toMatchObject({ ok: true, payload: { s: 7 } });
  });

  it.each([
    ['not json', /invalid JSON/],
    ['[1,2]', /not a JSON object/],
    ['null', /not a JSON object/],
    ['{"op":"0"}', /op is "0"/],
    ['{"op":0,"s":1,"d":{}}', /without an event name/],
    ['{"op":0,"t":"X","s":-1,"d":{}}', /seq -1/],
    ['{"op":0,"t":"X","s":1.5,"d":{}}', /seq 1.5/],
    ['{"op":0,"t":"READY","s":1,"d":null}', /READY without a session_id/],
    ['{"op":0,"t":"READY","s":1,"d":{"session_id":42}}', /READY without a session_id/],
    ['{"op":0,"t":"READY","s":1,"d":{"session_id":"s","resume_gateway_url":{}}}', /resume_gateway_url/],
    ['{"op":0,"t":"READY","s":1,"d":{"session_id":"s","resume_gateway_url":"http://x"}}', /resume_gateway_url/],
  ])('names the problem with %s', (text, problem) => {
    const parsed = parseGatewayFrame(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.problem).toMatch(problem);
  });
});

describe('utf8Length', () => {
  it('matches the UTF-8 encoder for ASCII, accents, CJK and emoji', () => {
    for (const text of ['hello', 'héllo', '日本語', '👍🏽 ok', '\ud800 lone surrogate']) {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
    }
  });
});

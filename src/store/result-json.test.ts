import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResultMeter, jsonValueBytes, queryResultJson, toJsonValue } from './result-json.ts';

const utf8 = (text: string): number => new TextEncoder().encode(text).byteLength;

/** What SQLite hands back through either driver: text (any UTF-16, lone surrogates too), numbers, null, blobs. */
const sqlValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  fc.double({ noNaN: true }),
  fc.integer(),
  fc.constant(null),
  fc.uint8Array({ maxLength: 40 }),
);

describe('result sizes', () => {
  it('counts exactly the UTF-8 bytes of the JSON POST /query sends, for any values', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }), fc.array(fc.array(sqlValue, { maxLength: 6 }), { maxLength: 8 }), (columns, rows) => {
        const meter = new ResultMeter(Number.MAX_SAFE_INTEGER, columns);
        for (const row of rows) meter.add(row);
        const json = queryResultJson({ columns, rows, truncated: false });
        expect(meter.bytes).toBe(utf8(json));
        for (const value of rows.flat()) expect(jsonValueBytes(value)).toBe(utf8(JSON.stringify(toJsonValue(value))));
      }),
    );
  });

  it('writes a BLOB as {"$blob": base64}, not as an array of numbers', () => {
    expect(queryResultJson({ columns: ['b'], rows: [[new Uint8Array([0, 255, 16])], [Buffer.from('hi')]], truncated: false })).toBe(
      '{"columns":["b"],"rows":[[{"$blob":"AP8Q"}],[{"$blob":"aGk="}]],"truncated":false}',
    );
  });

  it('refuses with TOO_LARGE at the row that passes the limit, naming the limit and the row', () => {
    const meter = new ResultMeter(200, ['x']);
    expect(() => {
      for (let i = 0; i < 100; i++) meter.add(['0123456789']);
    }).toThrow(expect.objectContaining({ code: 'TOO_LARGE', message: expect.stringMatching(/passed maxBytes \(200 bytes as JSON\) at row 11/) }));
  });

  it('stops counting a huge string at the room left instead of scanning it all', () => {
    const huge = 'é'.repeat(5_000_000);
    // Too long to fit whatever its characters: answered from the length alone.
    expect(jsonValueBytes(huge, 1000)).toBe(huge.length + 2);
    expect(jsonValueBytes('é"\n', 1000)).toBe(utf8(JSON.stringify('é"\n')));
  });
});

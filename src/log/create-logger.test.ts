import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/helpers/log-sink.ts';
import { boundLogFields } from './bound-log-fields.ts';

describe('root logger', () => {
  it('redacts tokens and secrets wherever they appear in logged objects', () => {
    const { logger, text, lines } = captureLogger();
    const child = logger.child({ component: 'test' });
    child.info({ token: 'tok-123', config: { token: 'tok-456', adminToken: 'adm-1', clusterSecret: 'sec-1' } }, 'configured');
    child.info({ payload: { op: 2, d: { token: 'tok-789' } } }, 'identify');
    child.info({ req: { headers: { authorization: 'Bearer adm-2' } } }, 'request');
    const output = text();
    for (const secret of ['tok-123', 'tok-456', 'adm-1', 'sec-1', 'tok-789', 'adm-2']) expect(output).not.toContain(secret);
    expect(lines()[0]).toMatchObject({ component: 'test', msg: 'configured', token: '[redacted]' });
  });
});

describe('log lines are bounded where they are written', () => {
  it('cuts long strings, long arrays, wide and deep objects, and says what it left out', () => {
    const { logger, lines, text } = captureLogger();
    const dispatch = { t: 'GUILD_CREATE', d: { name: 'x'.repeat(1_000_000), members: Array.from({ length: 10_000 }, (_, i) => ({ user: { id: String(i) } })) } };
    logger.warn({ payload: dispatch, token: 'tok-999' }, 'y'.repeat(100_000));
    expect(text().length).toBeLessThan(64 * 1024);
    const [line] = lines();
    expect(line).toMatchObject({ token: '[redacted]', msg: expect.stringMatching(/…\[\+97952 chars\]$/) });
    const logged = line!['payload'] as { d: { name: string; members: unknown[] } };
    expect(logged.d.name).toMatch(/^x{2048}…\[\+997952 chars\]$/);
    expect(logged.d.members).toHaveLength(33);
    expect(logged.d.members.at(-1)).toBe('…[+9968 items]');
  });

  it('keeps an error an error (type, message, stack) with its text bounded', () => {
    const { logger, lines } = captureLogger();
    const error = Object.assign(new TypeError(`bad ${'z'.repeat(10_000)}`), { code: 'E_BAD' });
    logger.error({ err: error }, 'handler threw');
    const err = lines()[0]!['err'] as Record<string, string>;
    expect(err).toMatchObject({ type: 'TypeError', code: 'E_BAD', message: expect.stringMatching(/^bad z+…\[\+\d+ chars\]$/) });
    expect(err['stack']!.length).toBeLessThan(2100);
  });

  it('passes fields within the bounds on as they are, and bounds any value whatever its shape', () => {
    const small = { shardId: 3, seq: 10, nested: { a: [1, 2, 3], b: 'ok' } };
    expect(boundLogFields(small)).toBe(small);
    fc.assert(
      fc.property(fc.anything({ maxDepth: 8, maxKeys: 60, withBigInt: false, stringUnit: 'binary' }), fc.string({ maxLength: 5000 }), (value, big) => {
        const { logger, text } = captureLogger();
        logger.info({ value, big: big.repeat(50), list: [value, value, value] }, 'fuzz');
        expect(text().length).toBeLessThan(64 * 1024);
      }),
      { numRuns: 200 },
    );
  });
});

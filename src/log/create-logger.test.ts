import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/helpers/log-sink.ts';

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

/**
 * POST /shards/:id/resume bodies are resume info from outside (an operator's copy of a
 * handoff's answer). Whatever the body, the route answers 400 or 409 with a JSON error and
 * never asks the node to resume from what it could not use.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ResumeInfo } from '../core/resume-info.ts';
import { captureLogger } from '../../test/helpers/log-sink.ts';
import type { ControlOperations, PrimaryOperations } from './control-operations.ts';
import { createControlApp } from './create-control-app.ts';

const ADMIN = 'admin-token-for-resume-fuzz-0123';
const valid: ResumeInfo = { shardId: 1, shardCount: 4, sessionId: 'abcdef0123456789', seq: 9, resumeGatewayUrl: 'wss://gateway.example' };

function app(resumed: ResumeInfo[]) {
  const unused = (): never => {
    throw new Error('not used here');
  };
  const operations = {
    shardCount: () => 4,
    resume: async (shardId: number, info: ResumeInfo) => {
      resumed.push(info);
      return { shardId, epoch: 2, node: 'node-a' };
    },
    takeover: unused, handoff: unused, move: unused, drain: unused, metrics: unused,
    releaseShard: unused, claimShard: unused, setDraining: unused, shardStats: unused,
  } as unknown as ControlOperations & PrimaryOperations;
  return createControlApp({
    adminToken: ADMIN,
    clusterSecret: null,
    logger: captureLogger('warn').logger,
    readiness: () => ({ ready: true, reasons: [] }),
    status: () => ({}),
    query: unused,
    operations,
  });
}

const body = fc.oneof(
  fc.constant(JSON.stringify(valid)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ shardId: fc.anything(), shardCount: fc.anything(), sessionId: fc.anything(), seq: fc.anything(), resumeGatewayUrl: fc.anything() }, { requiredKeys: [] }).map((v) => {
    try {
      return JSON.stringify({ ...valid, ...v });
    } catch {
      return '{';
    }
  }),
  fc.string({ maxLength: 200 }),
);

describe('POST /shards/:id/resume under fuzzed bodies', () => {
  it('answers 4xx with a JSON error for anything it cannot use, and resumes only from usable info', async () => {
    const resumed: ResumeInfo[] = [];
    const control = app(resumed);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('1', '0', '3', '4', 'x', '-1', '99999'), body, async (id, text) => {
        const before = resumed.length;
        const res = await control.request(`/shards/${id}/resume`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: text });
        const answer = (await res.json()) as { error?: { code: string } };
        if (res.status === 200) {
          expect(resumed.length).toBe(before + 1);
          expect(resumed.at(-1)).toMatchObject({ shardId: Number(id), shardCount: 4 });
        } else {
          expect([400, 409]).toContain(res.status);
          expect(answer.error?.code).toMatch(/^(INVALID_INPUT|CONFLICT)$/);
          expect(resumed.length).toBe(before);
        }
      }),
      { numRuns: 2_000 },
    );
    expect(resumed.length).toBeGreaterThan(0);
  });
});

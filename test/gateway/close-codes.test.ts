import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODE_TABLE, closePolicy } from '../../src/core/close-codes.ts';
import type { ShardlineError } from '../../src/core/errors.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Harness } from './harness.ts';

/** Every row of the table, plus one code the table does not list. */
const UNLISTED = 4321;
const CODES = [...Object.keys(CLOSE_CODE_TABLE).map(Number), UNLISTED];

describe('close-code policy against the simulator: the shard does what each row says', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await new Harness().start();
  });
  afterAll(async () => {
    await h.close();
  });

  it('the unlisted code really is unlisted and defaults to resume', () => {
    expect(CLOSE_CODE_TABLE[UNLISTED]).toBeUndefined();
    expect(closePolicy(UNLISTED).action).toBe('resume');
  });

  it.each(CODES.map((code) => [code, closePolicy(code).action, closePolicy(code).name] as const))(
    'close %i -> %s (%s)',
    async (code, action) => {
      const { shard, handled } = h.shard();
      const errors: ShardlineError[] = [];
      shard.on('error', (e) => errors.push(e));
      await shard.start();
      const before = shard.resumeInfo()!;
      const { identifies, resumes } = h.discord.stats;
      // 1006 cannot travel in a close frame: it is what a dropped TCP connection looks like.
      if (code === 1006) h.discord.faults.dropTcp(0);
      else expect(h.discord.faults.close(0, code, `test ${code}`)).toBeGreaterThan(0);

      if (action === 'resume') {
        await waitFor(() => h.discord.stats.resumes > resumes && shard.status === 'ready', { message: `resume after ${code}` });
        expect(shard.resumeInfo()!.sessionId).toBe(before.sessionId);
        expect(h.discord.stats.identifies).toBe(identifies);
        // The same session keeps flowing to the shard.
        const mark = handled.length;
        h.discord.traffic.emit(5);
        await waitFor(() => handled.length > mark);
        expect(handled.at(-1)!.sessionId).toBe(before.sessionId);
      } else if (action === 'identify') {
        await waitFor(() => h.discord.stats.identifies > identifies && shard.status === 'ready', { message: `identify after ${code}` });
        expect(shard.resumeInfo()!.sessionId).not.toBe(before.sessionId);
        expect(handled.at(-1)!.sessionId).not.toBe(before.sessionId);
      } else {
        await waitFor(() => shard.status === 'failed', { message: `fatal after ${code}` });
        expect(errors).toHaveLength(1);
        expect(errors[0]).toMatchObject({ code: 'GATEWAY_FATAL', details: { closeCode: code } });
        expect(errors[0]!.message).toContain(String(code));
        expect(shard.pendingTimers).toBe(0);
        expect(h.discord.stats.identifies).toBe(identifies);
      }
      await shard.close({ endSession: true });
      await waitFor(() => h.discord.connections(0).every((c) => !c.open));
    },
  );

  it('start() rejects with GATEWAY_FATAL naming 4004 when the token is wrong', async () => {
    const { shard } = h.shard({ token: 'wrong-token' });
    const error = await shard.start().then(
      () => null,
      (e: unknown) => e as ShardlineError,
    );
    expect(error).toMatchObject({ code: 'GATEWAY_FATAL', details: { closeCode: 4004 } });
    expect(error!.message).toMatch(/4004 \(Authentication failed\)/);
    expect(shard.status).toBe('failed');
  });
});

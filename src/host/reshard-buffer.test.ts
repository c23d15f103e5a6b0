import type { GatewayDispatchPayload } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { HandledKeys, ShadowBuffer, replayPlan, type BufferedDispatch } from './reshard-buffer.ts';

let seq = 0;
const dispatch = (t: string, d: Record<string, unknown>): [GatewayDispatchPayload, { shardId: number; seq: number; sessionId: string }] => {
  seq += 1;
  return [{ op: 0, t, s: seq, d } as unknown as GatewayDispatchPayload, { shardId: 0, seq, sessionId: 's' }];
};

function buffered(): BufferedDispatch[] {
  const buffer = new ShadowBuffer({ burstTimeoutMs: 10_000 });
  buffer.push(...dispatch('READY', { session_id: 's', guilds: [{ id: '1' }, { id: '2' }] }), 0);
  buffer.push(...dispatch('GUILD_CREATE', { id: '1' }), 1);
  buffer.push(...dispatch('PRESENCE_UPDATE', { guild_id: '1' }), 2);
  buffer.push(...dispatch('GUILD_CREATE', { id: '2' }), 3);
  expect(buffer.caughtUp(3)).toBe(true);
  buffer.push(...dispatch('MESSAGE_CREATE', { id: '100' }), 100);
  buffer.push(...dispatch('PRESENCE_UPDATE', { guild_id: '1' }), 200);
  buffer.push(...dispatch('MESSAGE_CREATE', { id: '101' }), 1_000);
  buffer.push(...dispatch('PRESENCE_UPDATE', { guild_id: '2' }), 1_100);
  buffer.push(...dispatch('MESSAGE_CREATE', { id: '102' }), 1_200);
  // A guild the bot joined during the overlap: a real event, not part of the burst.
  buffer.push(...dispatch('GUILD_CREATE', { id: '3' }), 1_300);
  return buffer.drain();
}

describe('shadow buffer and replay plan', () => {
  it('marks READY and the GUILD_CREATEs it announced as the burst, and is caught up once they all arrived', () => {
    const items = buffered();
    expect(items.filter((i) => i.burst).map((i) => i.payload.t)).toEqual(['READY', 'GUILD_CREATE', 'GUILD_CREATE']);
    expect(items.at(-1)).toMatchObject({ burst: false, key: null });
    expect(items.find((i) => i.payload.t === 'MESSAGE_CREATE')?.key).toBe('MESSAGE_CREATE:100');
  });

  it('times the burst out (a guild in an outage never comes) and counts a resumed session as caught up', () => {
    const waiting = new ShadowBuffer({ burstTimeoutMs: 500 });
    waiting.push(...dispatch('READY', { guilds: [{ id: '1' }] }), 0);
    expect(waiting.caughtUp(499)).toBe(false);
    expect(waiting.caughtUp(500)).toBe(true);
    const resumed = new ShadowBuffer({ burstTimeoutMs: 500 });
    resumed.push(...dispatch('RESUMED', {}), 0);
    expect(resumed.caughtUp(0)).toBe(true);
  });

  it('hands over at the last id the old set handled: those before it skipped, ids after it and id-less events from the overlap on replayed', () => {
    const plan = replayPlan(buffered(), { skipKeys: new Set(['MESSAGE_CREATE:100', 'MESSAGE_CREATE:101', 'MESSAGE_CREATE:99']), uncovered: false, overlapMs: 300 });
    expect(plan.cutAt).toBe(700);
    expect(plan.handlers.map((i) => `${i.payload.t}@${i.at}`)).toEqual(['PRESENCE_UPDATE@1100', 'MESSAGE_CREATE@1200', 'GUILD_CREATE@1300']);
    // The cache rebuilds the range: snapshot and every event after it.
    expect(plan.cache.map((i) => i.at)).toEqual([0, 1, 2, 3, 100, 200, 1_000, 1_100, 1_200, 1_300]);
  });

  it('replays every event to the handlers when no handled id is in the buffer, or when the range was uncovered', () => {
    const none = replayPlan(buffered(), { skipKeys: new Set(['MESSAGE_CREATE:5']), uncovered: false, overlapMs: 300 });
    expect(none.handlers.filter((i) => i.payload.t === 'PRESENCE_UPDATE')).toHaveLength(3);
    const uncovered = replayPlan(buffered(), { skipKeys: new Set(['MESSAGE_CREATE:101']), uncovered: true, overlapMs: 300 });
    expect(uncovered.handlers.filter((i) => i.payload.t === 'PRESENCE_UPDATE')).toHaveLength(3);
    expect(uncovered.handlers.some((i) => i.burst)).toBe(false);
  });

  it('keeps handled keys in order and bounded', () => {
    const keys = new HandledKeys(3);
    keys.addAll(['a', 'b', 'c', 'd']);
    expect(keys.values()).toEqual(['b', 'c', 'd']);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { OWN_CLOSE_CODES } from '../../src/core/close-codes.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { Harness } from './harness.ts';

let h: Harness;
afterEach(async () => {
  await h.close();
});

/** Starts a shard, streams traffic, injects `inject`, and proves the session survived it whole. */
async function survives(inject: () => void, expectedClose: number | number[], options: Parameters<Harness['shard']>[0] = {}): Promise<string> {
  const s = h.shard(options);
  const closes: number[] = [];
  s.shard.on('closed', (e) => closes.push(e.code));
  await s.shard.start();
  const sessionId = s.shard.resumeInfo()!.sessionId;
  h.discord.traffic.start({ eventsPerSecond: 200 });
  await waitFor(() => s.handled.length > 20);
  inject();
  const accepted = ([] as number[]).concat(expectedClose);
  await waitFor(() => closes.some((c) => accepted.includes(c)), { message: `close ${accepted.join('|')}, saw ${closes.join(',')}` });
  await waitFor(() => h.discord.stats.resumes === 1 && s.shard.status === 'ready');
  h.discord.traffic.stop();
  await waitFor(() => s.shard.resumeInfo()!.seq === h.lastSeq(0, sessionId));
  expect(s.shard.resumeInfo()!.sessionId).toBe(sessionId);
  expect(h.discord.ledger.check(0, s.handled)).toMatchObject({ lost: [], duplicated: [], outOfOrder: 0 });
  expect(h.discord.stats.identifies).toBe(1);
  return h.log.text();
}

describe('bad frames from the server never crash the process', () => {
  it('invalid JSON: warns, closes with the bad-frame code, resumes without loss', async () => {
    h = await new Harness().start();
    const log = await survives(() => h.discord.faults.sendRaw(0, '{"op":0,"t":"MESSAGE_CREATE",'), OWN_CLOSE_CODES.badFrame, { compress: false });
    expect(log).toContain('Bad frame from the gateway');
    expect(log).toContain('invalid JSON');
  });

  it('invalid JSON inside a zlib-stream connection (a text frame) is handled the same way', async () => {
    h = await new Harness().start();
    await survives(() => h.discord.faults.sendRaw(0, 'definitely not json'), OWN_CLOSE_CODES.badFrame);
  });

  it('garbage zlib data: the inflate context is dropped with the socket and the session resumes', async () => {
    h = await new Harness().start();
    const garbage = new Uint8Array([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0xff, 0xff]);
    const log = await survives(() => h.discord.faults.sendRaw(0, garbage), OWN_CLOSE_CODES.badFrame);
    // Inside a live stream, garbage either fails to inflate or inflates to non-JSON.
    expect(log).toMatch(/Corrupt zlib-stream data|invalid JSON/);
  });

  it('a payload over the transport limit drops the socket (ws reports 1009 or 1006) and resumes', async () => {
    h = await new Harness().start();
    const huge = JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s: 999_999, d: { content: 'x'.repeat(300_000) } });
    await survives(() => h.discord.faults.sendRaw(0, huge), [1009, 1006], { compress: false, wsOptions: { maxPayloadBytes: 64 * 1024 } });
  });

  it('an unknown opcode is logged and ignored: same socket, nothing lost', async () => {
    h = await new Harness().start();
    const s = h.shard();
    const closes: number[] = [];
    s.shard.on('closed', (e) => closes.push(e.code));
    await s.shard.start();
    const before = h.discord.connections(0).find((c) => c.open)!.id;
    h.discord.faults.sendRaw(0, JSON.stringify({ op: 99, d: { surprise: true } }));
    await waitFor(() => h.log.text().includes('Ignoring unknown gateway opcode'));
    h.discord.traffic.emit(20);
    const sessionId = s.shard.resumeInfo()!.sessionId;
    await waitFor(() => s.shard.resumeInfo()!.seq === h.lastSeq(0, sessionId));
    expect(closes).toEqual([]);
    expect(h.discord.connections(0).find((c) => c.open)!.id).toBe(before);
    expect(h.discord.ledger.check(0, s.handled)).toMatchObject({ lost: [], duplicated: [] });
  });
});

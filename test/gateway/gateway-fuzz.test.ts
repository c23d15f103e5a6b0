/**
 * Gateway input fuzz against a live host. fast-check draws sequences of what a gateway (or
 * anything between it and us) could send: dispatches the host maps with wrong types in any
 * field (sequenced, so the bot must handle each exactly once), truncated and non-object JSON,
 * wrong-typed op, t and s, seq gaps, a second READY, unknown opcodes, frames over the
 * transport limit, a zlib bomb, bad zlib bytes; and real traffic in between. After every
 * action the shard must have recovered as the close-code table says (a bad frame closes with
 * 4903 and RESUMES; nothing here may cost an IDENTIFY); after every sequence the node is up,
 * no event is lost or handled twice, SQL answers and the cache equals the simulated world.
 * A failure prints fast-check's seed and the shrunk sequence that replays it.
 */
import { rmSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWN_CLOSE_CODES, closePolicy } from '../../src/core/close-codes.ts';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { createWsTransport } from '../../src/runtime/ws-transport.ts';
import { captureLogger } from '../helpers/log-sink.ts';
import { cacheState, differences, expectedFromWorld } from '../helpers/cache-vs-world.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { handledBy, recordingBot, tempDir, testHost, type Recorded } from '../helpers/test-host.ts';
import { guildIdOnShard } from '../store/discord-fixtures.ts';
import { MAPPED_DISPATCHES, mutatedDispatch, weirdValue, wellFormed, type MappedDispatch } from './fuzz-payloads.ts';

const SHARDS = 2;
const MAX_PAYLOAD = 256 * 1024;
const MAX_MESSAGE = 512 * 1024;

/** What the recovery table says must follow a frame. */
type Expect = 'bad frame' | 'too big' | 'nothing';

type Action =
  | { readonly kind: 'dispatch'; readonly shardId: number; readonly t: MappedDispatch; readonly d: unknown }
  | { readonly kind: 'traffic'; readonly events: number }
  | { readonly kind: 'frame'; readonly shardId: number; readonly name: string; readonly frame: string; readonly raw: boolean; readonly expect: Expect }
  | { readonly kind: 'bytes'; readonly shardId: number; readonly name: string; readonly bytes: Uint8Array; readonly expect: Expect };

const shard = fc.integer({ min: 0, max: SHARDS - 1 });
/** Ids of the fuzz guilds: far from the world's snowflakes, one on each shard. */
const fuzzGuild = (shardId: number): string => guildIdOnShard(shardId, SHARDS, 3);
const notInteger = fc.constantFrom<unknown>('0', null, 1.5, true, [], {}, -0.5, 'x', '1e3');
const notSeq = fc.constantFrom<unknown>('5', -1, 1.5, true, {}, [], 2 ** 60);

const SYNC_FLUSH = [0x00, 0x00, 0xff, 0xff];

/** How an action reads in a failure report (fast-check would print a fuzzed payload whole). */
function describeAction(a: Action): string {
  const text = a.kind === 'traffic' ? `${a.events} traffic events` : a.kind === 'dispatch' ? `fuzzed ${a.t} ${JSON.stringify(a.d)}` : `${a.name}: ${a.kind === 'bytes' ? `${a.bytes.length} bytes` : JSON.stringify(a.frame)}`;
  return `${'shardId' in a ? `[shard ${a.shardId}] ` : ''}${text.length > 300 ? `${text.slice(0, 300)}…(${text.length} chars)` : text}`;
}

const actions: fc.Arbitrary<Action> = fc.oneof(
  // Sequenced dispatches: the non-READY ones the host maps, fuzzed, about the fuzz guilds.
  {
    weight: 6,
    arbitrary: shard.chain((shardId) => mutatedDispatch(fuzzGuild(shardId), MAPPED_DISPATCHES.filter((t) => t !== 'READY')).map(({ t, d }): Action => ({ kind: 'dispatch', shardId, t, d }))),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 60 }).map((events): Action => ({ kind: 'traffic', events })) },
  {
    weight: 1,
    arbitrary: fc.tuple(shard, fc.nat()).map(([shardId, at]): Action => {
      const text = JSON.stringify({ op: 0, t: 'MESSAGE_CREATE', s: null, d: { content: 'cut here', id: '1' } });
      return { kind: 'frame', shardId, name: 'truncated JSON', frame: text.slice(0, 1 + (at % (text.length - 1))), raw: false, expect: 'bad frame' };
    }),
  },
  { weight: 1, arbitrary: fc.tuple(shard, weirdValue.filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))).map(([shardId, v]): Action => ({ kind: 'frame', shardId, name: 'not an object', frame: JSON.stringify(v), raw: false, expect: 'bad frame' })) },
  { weight: 1, arbitrary: fc.tuple(shard, notInteger).map(([shardId, op]): Action => ({ kind: 'frame', shardId, name: 'op not an integer', frame: JSON.stringify({ op, d: {}, s: null, t: null }), raw: false, expect: 'bad frame' })) },
  { weight: 1, arbitrary: fc.tuple(shard, weirdValue.filter((v) => typeof v !== 'string')).map(([shardId, t]): Action => ({ kind: 'frame', shardId, name: 'dispatch t not a string', frame: JSON.stringify({ op: 0, t, s: null, d: {} }), raw: false, expect: 'bad frame' })) },
  { weight: 1, arbitrary: fc.tuple(shard, notSeq).map(([shardId, s]): Action => ({ kind: 'frame', shardId, name: 'dispatch s not a seq', frame: JSON.stringify({ op: 0, t: 'TYPING_START', s, d: {} }), raw: false, expect: 'bad frame' })) },
  { weight: 1, arbitrary: fc.tuple(shard, fc.integer({ min: 2, max: 1_000_000 })).map(([shardId, ahead]): Action => ({ kind: 'frame', shardId, name: 'seq gap', frame: `seq+${ahead}`, raw: false, expect: 'bad frame' })) },
  { weight: 1, arbitrary: shard.map((shardId): Action => ({ kind: 'frame', shardId, name: 'a second READY', frame: JSON.stringify({ op: 0, t: 'READY', s: null, d: wellFormed('READY', fuzzGuild(shardId)) }), raw: false, expect: 'bad frame' })) },
  { weight: 1, arbitrary: fc.tuple(shard, mutatedDispatch(fuzzGuild(0))).map(([shardId, { t, d }]): Action => ({ kind: 'frame', shardId, name: `unsequenced ${t}`, frame: JSON.stringify({ op: 0, t: t === 'READY' ? 'GUILD_UPDATE' : t, s: null, d }), raw: false, expect: 'nothing' })) },
  { weight: 1, arbitrary: fc.tuple(shard, fc.integer({ min: 12, max: 1000 }).filter((op) => op !== 0 && op !== 1 && op !== 7 && op !== 9 && op !== 10 && op !== 11), weirdValue).map(([shardId, op, d]): Action => ({ kind: 'frame', shardId, name: `unknown op ${op}`, frame: JSON.stringify({ op, d, s: null, t: null }), raw: false, expect: 'nothing' })) },
  { weight: 1, arbitrary: shard.map((shardId): Action => ({ kind: 'frame', shardId, name: 'frame over the transport limit', frame: JSON.stringify({ op: 0, t: 'X', s: null, d: 'x'.repeat(MAX_PAYLOAD + 10) }), raw: true, expect: 'too big' })) },
  { weight: 1, arbitrary: shard.map((shardId): Action => ({ kind: 'frame', shardId, name: 'zlib bomb', frame: JSON.stringify({ op: 0, t: 'X', s: null, d: '0'.repeat(MAX_MESSAGE + 10) }), raw: false, expect: 'bad frame' })) },
  { weight: 1, arbitrary: fc.tuple(shard, fc.string({ minLength: 1, maxLength: 40 })).map(([shardId, text]): Action => ({ kind: 'frame', shardId, name: 'uncompressed text on a zlib stream', frame: `\u0000${text}`, raw: true, expect: 'bad frame' })) },
  { weight: 1, arbitrary: fc.tuple(shard, fc.uint8Array({ minLength: 1, maxLength: 200 })).map(([shardId, bytes]): Action => ({ kind: 'bytes', shardId, name: 'bad zlib bytes', bytes: new Uint8Array([...bytes, ...SYNC_FLUSH]), expect: 'bad frame' })) },
  { weight: 1, arbitrary: shard.map((shardId): Action => ({ kind: 'bytes', shardId, name: 'a second zlib stream header', bytes: new Uint8Array(deflateSync(Buffer.from('{"op":11}'), { finishFlush: 2 })), expect: 'bad frame' })) },
);
const action = actions.map((a) => Object.defineProperty(a, fc.toStringMethod, { value: () => describeAction(a), enumerable: false }));

describe('gateway input fuzz against a live host', () => {
  let discord: FakeDiscord;
  let dataDir: string;
  let host: Host;
  const recorded: Recorded[] = [];
  const closes: { shardId: number; code: number }[] = [];
  /** Every action run so far, for the failure message: the host's state carries over between sequences. */
  const history: string[] = [];
  const log = captureLogger('info');

  beforeAll(async () => {
    discord = new FakeDiscord({ shards: SHARDS, maxConcurrency: SHARDS, heartbeatIntervalMs: 1_000, identifySpacingMs: 10, reconnectGraceMs: 200, world: { seed: 11, guilds: 8, membersPerGuild: 10 } });
    await discord.start();
    dataDir = tempDir();
    host = testHost(discord, {
      dataDir,
      bot: recordingBot(undefined, recorded),
      logger: log.logger,
      runtime: { ...createNodeRuntime(), transport: createWsTransport({ maxPayloadBytes: MAX_PAYLOAD }) },
      shardTuning: { invalidSessionDelayMs: { min: 10, max: 50 }, backoffBaseMs: 20, backoffCapMs: 200, maxMessageBytes: MAX_MESSAGE },
    });
    await host.start();
    for (const runner of host.runners()) runner.shard.on('closed', (e) => closes.push({ shardId: runner.shardId, code: e.code }));
  });

  afterAll(async () => {
    await host.close();
    await discord.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The shard is ready on one live socket and has handled everything its session sequenced. */
  const caughtUp = (shardId: number): boolean => {
    const info = host.runner(shardId)?.shard.resumeInfo();
    if (host.runner(shardId)?.shard.status !== 'ready' || !info) return false;
    const last = discord.ledger.events(shardId).filter((e) => e.sessionId === info.sessionId).at(-1)?.seq ?? 0;
    return info.seq === last && discord.connections(shardId).filter((c) => c.open).length === 1;
  };
  const settle = (what: string): Promise<unknown> => waitFor(() => [0, 1].every(caughtUp), { timeoutMs: 20_000, message: `shards caught up after ${what}` });

  /** A sequenced event on the shard, handled once all that came before it is. */
  const sentinel = async (shardId: number): Promise<void> => {
    discord.dispatchToGuild(fuzzGuild(shardId), 'TYPING_START', { channel_id: '1', guild_id: fuzzGuild(shardId), user_id: '2', timestamp: 0 });
    await waitFor(() => caughtUp(shardId), { message: `shard ${shardId} handled its sentinel` });
  };

  async function run(a: Action): Promise<void> {
    if (a.kind === 'traffic') {
      discord.traffic.emit(a.events);
      return settle(`${a.events} traffic events`).then(() => undefined);
    }
    if (a.kind === 'dispatch') {
      if (a.t === 'USER_UPDATE' || a.t === 'RATE_LIMITED') discord.dispatchGlobal(a.t, a.d);
      else discord.dispatchToGuild(fuzzGuild(a.shardId), a.t, a.d);
      return settle(`fuzzed ${a.t}`).then(() => undefined);
    }
    const before = closes.filter((c) => c.shardId === a.shardId).length;
    const resumes = discord.stats.resumesByShard[a.shardId] ?? 0;
    let sent: number;
    if (a.kind === 'bytes') sent = discord.faults.sendRaw(a.shardId, a.bytes);
    else if (a.frame.startsWith('seq+')) {
      const seq = host.runner(a.shardId)!.shard.resumeInfo()!.seq + Number(a.frame.slice(4));
      sent = discord.faults.sendFrame(a.shardId, JSON.stringify({ op: 0, t: 'TYPING_START', s: seq, d: {} }));
    } else if (a.raw) sent = discord.faults.sendRaw(a.shardId, a.frame);
    else sent = discord.faults.sendFrame(a.shardId, a.frame);
    expect(sent, `${a.name}: a live socket to send on`).toBe(1);
    if (a.expect === 'nothing') {
      await sentinel(a.shardId);
      expect(closes.filter((c) => c.shardId === a.shardId).length, `${a.name}: the socket stays`).toBe(before);
      return;
    }
    const closed = await waitFor(() => closes.filter((c) => c.shardId === a.shardId)[before], { message: `${a.name}: the shard closed` });
    if (a.expect === 'bad frame') expect(closed.code, a.name).toBe(OWN_CLOSE_CODES.badFrame);
    else expect([1009, 1006], a.name).toContain(closed.code);
    expect(closePolicy(closed.code).action, a.name).toBe('resume');
    await waitFor(() => (discord.stats.resumesByShard[a.shardId] ?? 0) > resumes && caughtUp(a.shardId), { message: `${a.name}: the shard resumed` });
  }

  it('recovers from every frame by the close-code table, and loses, repeats and corrupts nothing', async () => {
    await settle('start');
    const identifies = discord.stats.identifies;
    const worldGuilds = new Set(discord.world.guilds.keys());
    let sequences = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async (actions) => {
        sequences += 1;
        for (const a of actions) {
          history.push(describeAction(a));
          try {
            await run(a);
          } catch (error) {
            const state = [0, 1].map((id) => ({ id, status: host.runner(id)?.shard.status, info: host.runner(id)?.shard.resumeInfo(), last: discord.ledger.events(id).at(-1), open: discord.connections(id).filter((c) => c.open).length }));
            const warnings = log.lines().filter((l) => Number(l['level']) >= 40).slice(-15).map((l) => JSON.stringify(l).slice(0, 400));
            throw new Error(`${(error as Error).message}\nlast actions:\n  ${history.slice(-12).join('\n  ')}\nstate: ${JSON.stringify(state)}\nwarnings:\n  ${warnings.join('\n  ')}`, { cause: error });
          }
        }
        await settle('the sequence');
        // Nothing cost an IDENTIFY; every event was handled exactly once, in order.
        expect(discord.stats.identifies).toBe(identifies);
        for (let shardId = 0; shardId < SHARDS; shardId++) {
          expect(discord.ledger.check(shardId, handledBy(recorded, shardId))).toMatchObject({ lost: [], duplicated: [], outOfOrder: 0 });
        }
        // The cache still takes writes and answers; what the world holds, it holds.
        await waitFor(() => host.status().funnel?.queuedEntries === 0, { message: 'funnel drained' });
        const want = expectedFromWorld(discord.world);
        const got = cacheState(host, worldGuilds);
        for (const table of Object.keys(want)) expect(differences(want[table]!, got[table]!), table).toEqual([]);
        expect(host.readiness().ready).toBe(true);
      }),
      // The host's state carries over from one sequence to the next: shrinking would replay a different system.
      { numRuns: Number(process.env["FUZZ_RUNS"] ?? 12), endOnFailure: true },
    );
    expect(sequences).toBeGreaterThanOrEqual(Number(process.env["FUZZ_RUNS"] ?? 12));
  });
});

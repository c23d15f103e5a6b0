/**
 * What schemathesis found on the simulated Discord's /_sim control routes (npm run fuzz:api),
 * one test each, named after what broke.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { SIM_CONTROL_LIMITS } from '../../src/discord-sim/sim-control-docs.ts';

describe('/_sim control: bounded requests', () => {
  const discord = new FakeDiscord({ world: { seed: 2, guilds: 3, membersPerGuild: 3 } });
  let base = '';
  const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  beforeAll(async () => {
    await discord.start();
    base = discord.restUrl.replace(/\/api$/, '');
  });
  afterAll(() => discord.close());

  it('regression: POST /_sim/traffic took an events-per-second rate of any size (5e307 made one tick emit forever); past the limit it is refused and changes nothing', async () => {
    for (const eventsPerSecond of [4.99e307, SIM_CONTROL_LIMITS.eventsPerSecond + 1]) {
      const res = await post('/_sim/traffic', { eventsPerSecond });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_INPUT');
      expect(discord.traffic.eventsPerSecond).toBe(0);
    }
    const ok = await post('/_sim/traffic', { eventsPerSecond: 5 });
    expect(await ok.json()).toEqual({ eventsPerSecond: 5 });
    await post('/_sim/traffic', { eventsPerSecond: 0 });
  });

  it('regression: POST /_sim/traffic emitted up to ten million events in one request (minutes and gigabytes); it takes at most 100000', async () => {
    const refused = await post('/_sim/traffic', { emit: 9_999_999 });
    expect(refused.status).toBe(400);
    expect(discord.stats.identifies).toBe(0);
    const ok = await post('/_sim/traffic', { emit: 10 });
    expect(ok.status).toBe(200);
  });

  it('regression: POST /_sim/guilds grew the world by up to 100000 guilds at once or a second; it takes at most 10000 at once and 1000 a second', async () => {
    const before = discord.world.guilds.size;
    expect((await post('/_sim/guilds', { add: SIM_CONTROL_LIMITS.addGuilds + 1 })).status).toBe(400);
    expect((await post('/_sim/guilds', { perSecond: SIM_CONTROL_LIMITS.guildsPerSecond + 1 })).status).toBe(400);
    expect(discord.world.guilds.size).toBe(before);
    expect(discord.guilds.perSecond).toBe(0);
    const added = (await (await post('/_sim/guilds', { add: 2 })).json()) as { added: string[] };
    expect(added.added).toHaveLength(2);
  });

  it('regression: GET /_sim/ledger/check was taken for a shard id and /_sim/ledger/0x1 for shard 1; the ledger routes take digits only, and a wrong method answers 405 with Allow', async () => {
    const check = await fetch(`${base}/_sim/ledger/check`);
    expect(check.status).toBe(405);
    expect(check.headers.get('allow')).toBe('POST');
    for (const id of ['0x1', '1e1', '-1']) {
      const res = await fetch(`${base}/_sim/ledger/${id}`);
      expect(res.status, id).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    }
    expect((await fetch(`${base}/_sim/ledger/1`)).status).toBe(200);
    // The simulated Discord REST API keeps Discord's own 404.
    expect(await (await fetch(`${base}/no-such-route`)).json()).toMatchObject({ message: '404: Not Found', code: 0 });
  });
});

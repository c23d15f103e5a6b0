import type { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { afterEach, describe, expect, it } from 'vitest';
import { isShardlineError } from '../../src/core/errors.ts';
import { SimCluster } from '../helpers/sim-cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** Each node's ctx.rest, handed over from its bot's shardReady. */
function restCollector(): { rests: Map<string, REST>; botFor: (id: string) => { intents: number; shardReady: (info: unknown, ctx: { rest: REST }) => void } } {
  const rests = new Map<string, REST>();
  return { rests, botFor: (id) => ({ intents: 1, shardReady: (_info, ctx) => void rests.set(id, ctx.rest) }) };
}

/** Calls `send` on every node from `loops` loops each (each waits for its previous answer) until `stop` says so. */
async function hammer(rests: Map<string, REST>, send: (rest: REST) => Promise<unknown>, stop: () => boolean, loops = 1): Promise<{ answered: number; rejected: Map<string, number> }> {
  const rejected = new Map<string, number>();
  let answered = 0;
  await Promise.all(
    [...rests.values()].flatMap((rest) => Array.from({ length: loops }, () => rest)).map(async (rest) => {
      while (!stop()) {
        try {
          await send(rest);
          answered += 1;
        } catch (error) {
          const key = isShardlineError(error) ? error.code : error instanceof Error ? `${error.name}:${(error as { status?: number }).status ?? ''}` : 'unknown';
          rejected.set(key, (rejected.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  return { answered, rejected };
}

describe('REST limits across nodes', () => {
  let cluster: SimCluster | undefined;

  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it('a bucket spent from two nodes is split between them: after the first 429s, no more', async () => {
    const { rests, botFor } = restCollector();
    cluster = new SimCluster({ shardCount: 2, botFor });
    const c = await cluster.start(['n1', 'n2']);
    await waitFor(() => rests.size === 2, { timeoutMs: 30_000, message: 'both nodes handed their ctx.rest over' });
    const channel = [...[...c.discord.world.guilds.values()][0]!.channels.values()].find((ch) => ch.type === 0)!;
    // GET /channels/:id: 5 per second per channel, spent by both nodes at once.
    const read = (rest: REST) => rest.get(Routes.channel(channel.id));
    const learning = hammer(rests, read, () => c.node('n1').host.status().rest!.node.buckets.contended > 0 && c.node('n2').host.status().rest!.node.buckets.contended > 0);
    await waitFor(() => learning.then(() => true), { timeoutMs: 20_000, message: 'both nodes learned the bucket is contended' });
    const route = () => c.discord.restStats.byRoute['GET /channels/:channelId']!;
    const before = { ...route().rateLimited, ok: route().ok };
    const startedAt = Date.now();
    const after = await hammer(rests, read, () => Date.now() - startedAt > 3_000);
    const stats = route();
    expect(after.rejected.size, JSON.stringify([...after.rejected])).toBe(0);
    // Both kept sending at the bucket's pace, and the simulator answered no more 429s.
    expect(stats.ok - before.ok).toBeGreaterThanOrEqual(10);
    expect(stats.rateLimited.user).toBe(before.user);
    expect(stats.rateLimited.global).toBe(0);
  });

  it('a run that would cross the invalid-request threshold is throttled, stopped and warned about before the ban', async () => {
    const { rests, botFor } = restCollector();
    // One address for the whole cluster (nodes behind one IP), a ban at 100 invalid answers.
    cluster = new SimCluster({
      shardCount: 3,
      botFor,
      discord: { rest: { globalLimit: 10, invalidLimit: 100, banMs: 600_000 } },
      env: { SHARDLINE_REST_GLOBAL_LIMIT: '10', SHARDLINE_REST_INVALID_LIMIT: '100' },
      rest: { nodeHeader: false },
    });
    const c = await cluster.start(['n1', 'n2', 'n3']);
    await waitFor(() => rests.size === 3, { timeoutMs: 30_000, message: 'every node handed its ctx.rest over' });
    const guilds = [...c.discord.world.guilds.values()];
    let next = 0;
    // Kicking an owner is always refused with 403: every answer counts toward the ban (guild after guild, past the kick bucket).
    const kickOwner = (rest: REST) => {
      const guild = guilds[(next += 1) % guilds.length]!;
      return rest.delete(Routes.guildMember(guild.id, guild.guild.owner_id), { signal: AbortSignal.timeout(1_000) });
    };
    const stopped = () => [...c.nodes.values()].every((n) => n.host.status().rest!.node.invalid.level === 'stop');
    let stoppedAt = 0;
    let offered = 0;
    const counted = (rest: REST) => ((offered += 1), kickOwner(rest));
    // Until every node stopped, and past 150 requests (each would have been a 403 counted toward the ban of 100).
    const run = await hammer(rests, counted, () => {
      if (stoppedAt === 0 && stopped()) stoppedAt = Date.now();
      return stoppedAt !== 0 && offered >= 150;
    }, 4);
    const sim = c.discord.restStats;
    const client = Object.values(sim.byClient).find((x) => x.invalid > 0)!;
    // Offered far past 100 invalid answers, yet Discord counted fewer and banned nobody.
    expect(run.answered + [...run.rejected.values()].reduce((a, b) => a + b, 0)).toBe(offered);
    expect(client.bans).toBe(0);
    expect(client.invalidInWindow).toBeLessThan(100);
    expect(run.rejected.get('TIMEOUT') ?? 0).toBeGreaterThan(0);
    const status = c.node('n1').host.status().rest!.node;
    expect(status.invalid).toMatchObject({ limit: 100, level: 'stop', stopAt: 80 });
    expect(status.invalid.cluster).toBeGreaterThanOrEqual(80);
    expect(c.log.text()).toMatch(/invalid REST answers \(401, 403, 429\) reached \d+ of the 100 in 10 min that get the IP banned/);
    expect(c.log.text()).toMatch(/no REST request leaves this node until the count falls/);
    const metrics = await (await fetch(`${c.node('n1').host.url}/metrics`, { headers: { authorization: 'Bearer admin-token-for-tests-0123456789' } })).text();
    expect(metrics).toMatch(/shardline_rest_invalid_requests\{scope="cluster"\} (8\d|9\d)/);
    expect(metrics).toMatch(/shardline_rest_invalid_limit\{threshold="ban"\} 100/);
  });
});

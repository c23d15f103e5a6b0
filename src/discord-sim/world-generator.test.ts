import { describe, expect, it } from 'vitest';
import { isSnowflake, shardForGuild } from './snowflake.ts';
import { generateWorld } from './world-generator.ts';
import type { World } from './world.ts';

function fingerprint(world: World): string {
  return JSON.stringify([...world.guilds.values()].map((g) => ({
    guild: world.guildObject(g.id),
    channels: [...g.channels.values()],
    threads: [...g.threads.values()],
    members: [...g.members.values()],
    presences: [...g.presences.values()],
  })));
}

describe('generateWorld', () => {
  it('is identical for the same seed and different for another seed', () => {
    const options = { guilds: 5, membersPerGuild: 8 };
    expect(fingerprint(generateWorld({ seed: 42, ...options }))).toBe(fingerprint(generateWorld({ seed: 42, ...options })));
    expect(fingerprint(generateWorld({ seed: 43, ...options }))).not.toBe(fingerprint(generateWorld({ seed: 42, ...options })));
  });

  it('builds guilds with the requested shape, valid unique snowflakes and shared users', () => {
    const world = generateWorld({ seed: 1, guilds: 12, channelsPerGuild: 8, rolesPerGuild: 4, membersPerGuild: 10, userPool: 15 });
    expect(world.guilds.size).toBe(12);
    const ids = new Set<string>();
    const memberships = new Map<string, number>();
    for (const g of world.guilds.values()) {
      expect(g.channels.size).toBe(8);
      expect(g.roles.size).toBe(4);
      expect(g.roles.get(g.id)?.name).toBe('@everyone');
      expect(g.members.size).toBe(11); // 10 humans + the bot
      expect(g.members.has(world.botUser.id)).toBe(true);
      expect(g.threads.size).toBeGreaterThan(0);
      expect([...g.channels.values()].some((c) => c.type === 0)).toBe(true);
      expect([...g.channels.values()].some((c) => c.type === 2)).toBe(true);
      expect([...g.channels.values()].some((c) => c.type === 4)).toBe(true);
      for (const id of [g.id, ...g.channels.keys(), ...g.threads.keys(), ...g.roles.keys(), ...g.emojis.keys()]) {
        expect(isSnowflake(id)).toBe(true);
        if (id !== g.id) expect(ids.has(id)).toBe(false);
        ids.add(id);
      }
      for (const userId of g.members.keys()) memberships.set(userId, (memberships.get(userId) ?? 0) + 1);
    }
    expect(world.users.size).toBe(16);
    expect([...memberships.values()].some((n) => n > 1 && n < 12)).toBe(true);
  });

  it('spreads guilds evenly over shards', () => {
    const world = generateWorld({ guilds: 40, membersPerGuild: 1 });
    for (const shards of [2, 4, 8]) {
      const perShard = new Array<number>(shards).fill(0);
      for (const id of world.guilds.keys()) perShard[shardForGuild(id, shards)]! += 1;
      expect(Math.max(...perShard) - Math.min(...perShard)).toBeLessThanOrEqual(1);
      expect(world.guildIdsForShard(0, shards)).toHaveLength(perShard[0]!);
    }
  });

  it('refuses impossible shapes', () => {
    expect(() => generateWorld({ guilds: 1.5 })).toThrow(/guilds/);
    expect(() => generateWorld({ channelsPerGuild: 1 })).toThrow(/channelsPerGuild/);
  });
});

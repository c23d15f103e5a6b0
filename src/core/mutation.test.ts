import { describe, expect, it } from 'vitest';
import { parseWriteEntry, shardIdForGuild } from './mutation.ts';
import type { WriteEntry } from './mutation.ts';

const good: WriteEntry = {
  shardId: 1,
  epoch: 4,
  mutations: [
    { op: 'upsert', table: 'members', row: { guildId: '1', userId: '2', nick: null, joinedAt: null, roles: '[]', raw: '{}' } },
    { op: 'upsert', table: 'users', row: { id: '2', username: null, globalName: null, bot: null, avatar: null, raw: '{}' }, merge: true },
    { op: 'delete', table: 'channels', id: '3' },
    { op: 'delete', table: 'voice_states', guildId: '1', userId: '2' },
    { op: 'deleteThreads', guildId: '1', parentIds: ['3'] },
    { op: 'deleteGuildRows', table: 'roles', guildId: '1', keepIds: ['4', '5'] },
    { op: 'clearShard', shardId: 1, shardCount: 2 },
  ],
  session: { sessionId: 's', seq: 9, resumeGatewayUrl: 'wss://x', shardCount: 2 },
};

describe('parseWriteEntry', () => {
  it('accepts a well-formed entry after a JSON round trip', () => {
    expect(parseWriteEntry(JSON.parse(JSON.stringify(good)))).toEqual(good);
  });

  it.each([
    [null, 'expected an object'],
    [{ ...good, shardId: -1 }, 'shardId'],
    [{ ...good, epoch: '1' }, 'epoch'],
    [{ ...good, mutations: {} }, 'mutations must be an array'],
    [{ ...good, mutations: [{ op: 'drop', table: 'guilds' }] }, 'mutations[0]: unknown op'],
    [{ ...good, mutations: [{ op: 'upsert', table: 'sqlite_master', row: {} }] }, 'unknown table'],
    [{ ...good, mutations: [{ op: 'upsert', table: 'roles', row: { id: '1', guildId: '1', name: 5 } }] }, 'roles.name'],
    [{ ...good, mutations: [{ op: 'delete', table: 'members', id: '1' }] }, 'guildId/userId'],
    [{ ...good, mutations: [{ op: 'clearShard', shardId: 2, shardCount: 2 }] }, 'shardId < shardCount'],
    [{ ...good, mutations: [{ op: 'deleteGuildRows', table: 'roles', guildId: '1', keepIds: '4' }] }, 'keepIds'],
    [{ ...good, mutations: [{ op: 'deleteGuildRows', table: 'roles', guildId: '1', keepIds: [4] }] }, 'keepIds'],
    [{ ...good, session: { sessionId: 's' } }, 'session needs'],
  ])('refuses %j naming the problem', (value, problem) => {
    expect(() => parseWriteEntry(value)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining(problem) }));
  });
});

describe('shardIdForGuild', () => {
  it('is (id >> 22) % shard_count on 64-bit snowflakes', () => {
    expect(shardIdForGuild('81384788765712384', 1)).toBe(0);
    expect(shardIdForGuild(String((5n << 22n) + 77n), 4)).toBe(1);
    expect(shardIdForGuild('9223372036854775807', 16)).toBe(Number((9223372036854775807n >> 22n) % 16n));
  });
});

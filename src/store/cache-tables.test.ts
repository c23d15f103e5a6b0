import { describe, expect, it } from 'vitest';
import type { Mutation } from '../core/mutation.ts';
import { skippedTables, withoutTables } from './cache-tables.ts';

const MUTATIONS: Mutation[] = [
  { op: 'upsert', table: 'members', row: { guildId: '1', userId: '2', nick: null, joinedAt: null, roles: '[]', raw: '{}' } },
  { op: 'upsert', table: 'presences', row: { guildId: '1', userId: '2', status: 'online', activities: '[]', raw: '{}' } },
  { op: 'deleteGuildRows', table: 'presences', guildId: '1', keepIds: ['2'] },
  { op: 'delete', table: 'voice_states', guildId: '1', userId: '2' },
  { op: 'deleteGuild', guildId: '9' },
] as Mutation[];

describe('cache tables a bot turns off', () => {
  it('skips nothing by default, and returns the very same array', () => {
    expect(skippedTables(undefined).size).toBe(0);
    expect(skippedTables({ presences: true }).size).toBe(0);
    expect(withoutTables(MUTATIONS, skippedTables({}))).toBe(MUTATIONS);
  });

  it('drops the rows of a skipped table and turns its replacement delete into a full one', () => {
    const skipped = skippedTables({ presences: false, voiceStates: false });
    expect([...skipped].sort()).toEqual(['presences', 'voice_states']);
    expect(withoutTables(MUTATIONS, skipped)).toEqual([
      MUTATIONS[0],
      { op: 'deleteGuildRows', table: 'presences', guildId: '1' },
      { op: 'deleteGuild', guildId: '9' },
    ]);
  });
});

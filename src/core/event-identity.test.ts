import { describe, expect, it } from 'vitest';
import { ID_CARRYING_EVENTS, dispatchKey, isIdCarrying } from './event-identity.ts';

describe('event identity', () => {
  it('keys every listed dispatch by its type and id', () => {
    const samples: Record<string, Record<string, unknown>> = {
      THREAD_CREATE: { id: '42', newly_created: true },
      GUILD_ROLE_CREATE: { guild_id: '1', role: { id: '42' } },
      GUILD_ROLE_DELETE: { guild_id: '1', role_id: '42' },
      GUILD_SOUNDBOARD_SOUND_CREATE: { sound_id: '42' },
      GUILD_SOUNDBOARD_SOUND_DELETE: { sound_id: '42' },
    };
    for (const t of Object.keys(ID_CARRYING_EVENTS)) {
      expect(dispatchKey(t, samples[t] ?? { id: '42' }), t).toBe(`${t}:42`);
      expect(isIdCarrying(t)).toBe(true);
    }
  });

  it('gives updates, id-less events and malformed payloads no key', () => {
    expect(dispatchKey('MESSAGE_UPDATE', { id: '42' })).toBeNull();
    expect(dispatchKey('PRESENCE_UPDATE', { user: { id: '42' } })).toBeNull();
    expect(dispatchKey('MESSAGE_CREATE', { id: 42 })).toBeNull();
    expect(dispatchKey('MESSAGE_CREATE', null)).toBeNull();
    expect(dispatchKey('MESSAGE_CREATE', { id: '1; drop' })).toBeNull();
    // Being added to a private thread repeats THREAD_CREATE without newly_created.
    expect(dispatchKey('THREAD_CREATE', { id: '42' })).toBeNull();
    expect(isIdCarrying('GUILD_MEMBER_UPDATE')).toBe(false);
  });
});

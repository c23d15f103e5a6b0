/**
 * Material for the gateway input fuzz: one well-formed `d` for every dispatch the host maps
 * (src/store/dispatch-mutations.ts, and RATE_LIMITED in the shard runner), and fast-check
 * arbitraries that break them: a wrong type in any field at any depth, fields removed, the
 * whole `d` replaced, very long strings, deep nesting. Ids are small numbers, far from the
 * simulated world's snowflakes, so a fuzzed event never touches a row the world owns.
 */
import fc from 'fast-check';
import { guildCreate, member, presence, role, textChannel, thread, user } from '../store/discord-fixtures.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A well-formed `d` of each mapped dispatch, about guild `g` (and ids around it). */
export function wellFormed(t: MappedDispatch, g: string): Json {
  const d = ((): unknown => {
    switch (t) {
      case 'READY':
        return { v: 10, user: user('90', { bot: true }), guilds: [{ id: g, unavailable: true }], session_id: 'fuzz-session', resume_gateway_url: 'ws://127.0.0.1:1', application: { id: '91', flags: 0 } };
      case 'GUILD_CREATE':
        return guildCreate(g, {
          member_count: 2,
          channels: [textChannel('101', g)],
          threads: [thread('102', g, '101')],
          roles: [role(g), role('103')],
          emojis: [{ id: '104', name: 'e', animated: false }],
          members: [member('105'), member('106', { nick: 'n', roles: ['103'] })],
          presences: [presence('105', 'online' as never)],
          voice_states: [{ channel_id: '101', user_id: '105', session_id: 'v', deaf: false, mute: false, self_deaf: false, self_mute: true, self_video: false, suppress: false, request_to_speak_timestamp: null }],
        } as never);
      case 'GUILD_UPDATE':
        return { ...guildCreate(g), roles: [role('103')], emojis: [{ id: '104', name: 'e2' }] };
      case 'GUILD_DELETE':
        return { id: g, unavailable: false };
      case 'CHANNEL_CREATE':
      case 'CHANNEL_UPDATE':
        return textChannel('107', g, { parent_id: '101', topic: 't' } as never);
      case 'CHANNEL_DELETE':
        return textChannel('101', g);
      case 'THREAD_CREATE':
      case 'THREAD_UPDATE':
        return thread('108', g, '101');
      case 'THREAD_DELETE':
        return { id: '102', guild_id: g, parent_id: '101', type: 11 };
      case 'THREAD_LIST_SYNC':
        return { guild_id: g, channel_ids: ['101'], threads: [thread('109', g, '101')], members: [] };
      case 'GUILD_ROLE_CREATE':
      case 'GUILD_ROLE_UPDATE':
        return { guild_id: g, role: role('110', { colors: { primary_color: 5, secondary_color: null, tertiary_color: null } }) };
      case 'GUILD_ROLE_DELETE':
        return { guild_id: g, role_id: '103' };
      case 'GUILD_MEMBER_ADD':
        return { ...member('111'), guild_id: g };
      case 'GUILD_MEMBER_UPDATE':
        return { ...member('106', { nick: 'changed' }), guild_id: g };
      case 'GUILD_MEMBER_REMOVE':
        return { guild_id: g, user: user('105') };
      case 'GUILD_MEMBERS_CHUNK':
        return { guild_id: g, members: [member('112'), member('113')], chunk_index: 0, chunk_count: 1, presences: [presence('112', 'idle' as never, { username: 'u' })], nonce: 'n' };
      case 'PRESENCE_UPDATE':
        return { ...presence('106', 'dnd' as never, { username: 'renamed' }), guild_id: g };
      case 'USER_UPDATE':
        return user('90', { username: 'bot2' });
      case 'GUILD_EMOJIS_UPDATE':
        return { guild_id: g, emojis: [{ id: '114', name: 'e3', animated: true }] };
      case 'VOICE_STATE_UPDATE':
        return { guild_id: g, channel_id: '101', user_id: '106', session_id: 's', deaf: false, mute: false, self_deaf: false, self_mute: false, self_video: false, suppress: false, request_to_speak_timestamp: null, member: member('106') };
      case 'RATE_LIMITED':
        return { opcode: 8, retry_after: 12.5, meta: { guild_id: g, nonce: 'x' } };
    }
  })();
  return JSON.parse(JSON.stringify(d)) as Json;
}

/** Every dispatch the host maps to cache rows, and RATE_LIMITED, which the shard runner reads. */
export const MAPPED_DISPATCHES = [
  'READY', 'GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE', 'CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE',
  'THREAD_CREATE', 'THREAD_UPDATE', 'THREAD_DELETE', 'THREAD_LIST_SYNC', 'GUILD_ROLE_CREATE', 'GUILD_ROLE_UPDATE',
  'GUILD_ROLE_DELETE', 'GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE', 'GUILD_MEMBERS_CHUNK',
  'PRESENCE_UPDATE', 'USER_UPDATE', 'GUILD_EMOJIS_UPDATE', 'VOICE_STATE_UPDATE', 'RATE_LIMITED',
] as const;
export type MappedDispatch = (typeof MAPPED_DISPATCHES)[number];

/** Values of every JSON type, and the awkward ones: numeric-looking ids, huge numbers, long text, deep nesting. */
export const weirdValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 1e308, -1e308, '', ' ', '0', '-1', '1e3', '99999999999999999999999', 'NaN', [], {}, [null], { id: null }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.nat({ max: 200_000 }).map((n) => 'x'.repeat(n)),
  fc.nat({ max: 300 }).map((depth) => {
    let value: Json = 'deep';
    for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { d: value };
    return value;
  }),
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
);

/** One change to a payload: walk `path` (each number picks a key or an item), then replace, delete, or wrap what is there. */
export interface Edit {
  readonly path: readonly number[];
  readonly action: 'replace' | 'delete' | 'wrap';
  readonly value: Json;
}

export const edit: fc.Arbitrary<Edit> = fc.record({
  path: fc.array(fc.nat({ max: 1000 }), { maxLength: 5 }),
  action: fc.constantFrom('replace', 'replace', 'replace', 'delete', 'wrap'),
  value: weirdValue,
});

/** A copy of `d` with `edit` applied; the empty path edits `d` itself (deleting it gives null). */
export function applyEdit(d: Json, e: Edit): Json {
  const change = (value: Json): Json | undefined => (e.action === 'delete' ? undefined : e.action === 'wrap' ? [value] : e.value);
  const walk = (value: Json, depth: number): Json | undefined => {
    if (depth === e.path.length || value === null || typeof value !== 'object') return change(value);
    const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    if (keys.length === 0) return change(value);
    const key = keys[e.path[depth]! % keys.length]!;
    if (Array.isArray(value)) {
      const copy = [...value];
      const next = walk(copy[key as number]!, depth + 1);
      if (next === undefined) copy.splice(key as number, 1);
      else copy[key as number] = next;
      return copy;
    }
    const copy = { ...value };
    const next = walk(copy[key as string]!, depth + 1);
    if (next === undefined) delete copy[key as string];
    else copy[key as string] = next;
    return copy;
  };
  return walk(d, 0) ?? null;
}

/** A mapped dispatch with one to four edits to its well-formed `d`. */
export function mutatedDispatch(guildId: string, types: readonly MappedDispatch[] = MAPPED_DISPATCHES): fc.Arbitrary<{ t: MappedDispatch; d: Json }> {
  return fc.record({ t: fc.constantFrom(...types), edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }).map(({ t, edits }) => ({ t, d: edits.reduce(applyEdit, wellFormed(t, guildId)) }));
}

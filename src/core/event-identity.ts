/**
 * Which dispatches carry a stable id: those whose `(t, id)` happens once, so a second delivery
 * of the same pair is the same event seen through another session (a reshard's two shard sets)
 * and not a new one. Updates are left out on purpose: a MESSAGE_UPDATE or CHANNEL_UPDATE repeats
 * its id on every change, so de-duplicating it would drop real changes. A test walks the table.
 */
type IdOf = (d: Record<string, unknown>) => unknown;

const field = (name: string): IdOf => (d) => d[name];

export const ID_CARRYING_EVENTS: Readonly<Record<string, IdOf>> = {
  MESSAGE_CREATE: field('id'),
  MESSAGE_DELETE: field('id'),
  INTERACTION_CREATE: field('id'),
  CHANNEL_CREATE: field('id'),
  CHANNEL_DELETE: field('id'),
  // Discord repeats THREAD_CREATE (without newly_created) when the bot is added to a private thread.
  THREAD_CREATE: (d) => (d['newly_created'] === true ? d['id'] : undefined),
  THREAD_DELETE: field('id'),
  GUILD_ROLE_CREATE: (d) => (d['role'] as { id?: unknown } | undefined)?.id,
  GUILD_ROLE_DELETE: field('role_id'),
  GUILD_SCHEDULED_EVENT_CREATE: field('id'),
  GUILD_SCHEDULED_EVENT_DELETE: field('id'),
  STAGE_INSTANCE_CREATE: field('id'),
  STAGE_INSTANCE_DELETE: field('id'),
  AUTO_MODERATION_RULE_CREATE: field('id'),
  AUTO_MODERATION_RULE_DELETE: field('id'),
  GUILD_AUDIT_LOG_ENTRY_CREATE: field('id'),
  ENTITLEMENT_CREATE: field('id'),
  ENTITLEMENT_DELETE: field('id'),
  INTEGRATION_CREATE: field('id'),
  INTEGRATION_DELETE: field('id'),
  GUILD_SOUNDBOARD_SOUND_CREATE: field('sound_id'),
  GUILD_SOUNDBOARD_SOUND_DELETE: field('sound_id'),
};

const SNOWFLAKE = /^\d{1,20}$/;

/** `t:id` for an id-carrying dispatch, null for every other (and for one whose id is missing). */
export function dispatchKey(t: string, d: unknown): string | null {
  const idOf = ID_CARRYING_EVENTS[t];
  if (!idOf || typeof d !== 'object' || d === null) return null;
  const id = idOf(d as Record<string, unknown>);
  return typeof id === 'string' && SNOWFLAKE.test(id) ? `${t}:${id}` : null;
}

/** Whether dispatches of type `t` carry a stable id (most of them; see THREAD_CREATE). */
export function isIdCarrying(t: string): boolean {
  return t in ID_CARRYING_EVENTS;
}

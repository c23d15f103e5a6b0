/**
 * The simulated Discord's REST limits, as data: which bucket each route spends, keyed by which
 * major parameter, and the extra limits some routes have. The figures follow what bots observe
 * on Discord (it publishes none and asks clients to read the headers); tests walk this table.
 */

export type RestMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** A per-route bucket: routes naming the same `bucket` share one (and one X-RateLimit-Bucket). */
export interface BucketLimit {
  readonly bucket: string;
  readonly limit: number;
  readonly windowMs: number;
}

/** A limit on a resource, whoever spends it (every token): answered with `X-RateLimit-Scope: shared`. */
export interface SharedLimit {
  /** The route parameter naming the resource. */
  readonly param: string;
  readonly limit: number;
  readonly windowMs: number;
}

/** A hidden limit inside a bucket for some requests only (a 429 while the bucket has room). */
export interface Sublimit {
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
  /** Whether a request body falls under it. */
  applies(body: unknown): boolean;
}

export interface RouteLimits {
  readonly method: RestMethod;
  /** Hono pattern under /api/v10. */
  readonly path: string;
  /** The route parameter that keys the bucket (Discord's major parameter); null: one bucket per token. */
  readonly major: string | null;
  /** Null: no bucket, no X-RateLimit-* headers (clients must not wait for them). */
  readonly bucket: BucketLimit | null;
  /** Interaction callbacks do not count toward the global limit. */
  readonly globalExempt?: boolean;
  readonly shared?: SharedLimit;
  readonly sublimit?: Sublimit;
}

const hasNameOrTopic = (body: unknown): boolean => typeof body === 'object' && body !== null && ('name' in body || 'topic' in body);

const messages: BucketLimit = { bucket: 'channel-messages', limit: 5, windowMs: 5_000 };
const messageEdits: BucketLimit = { bucket: 'channel-message-edit', limit: 5, windowMs: 5_000 };
const messageDeletes: BucketLimit = { bucket: 'channel-message-delete', limit: 5, windowMs: 1_000 };
// Every reaction route spends one bucket per channel, and it is the strictest a bot meets.
const reactions: BucketLimit = { bucket: 'channel-reactions', limit: 1, windowMs: 250 };
const channelRead: BucketLimit = { bucket: 'channel-read', limit: 5, windowMs: 1_000 };
const channelEdit: BucketLimit = { bucket: 'channel-edit', limit: 5, windowMs: 15_000 };
const guildChannels: BucketLimit = { bucket: 'guild-channels', limit: 5, windowMs: 5_000 };
const memberEdit: BucketLimit = { bucket: 'guild-member-edit', limit: 10, windowMs: 10_000 };
const memberKick: BucketLimit = { bucket: 'guild-member-kick', limit: 5, windowMs: 5_000 };
const memberRoles: BucketLimit = { bucket: 'guild-member-roles', limit: 10, windowMs: 10_000 };
const roles: BucketLimit = { bucket: 'guild-roles', limit: 10, windowMs: 10_000 };
const misc: BucketLimit = { bucket: 'misc', limit: 5, windowMs: 1_000 };

export const ROUTE_LIMITS: readonly RouteLimits[] = [
  { method: 'GET', path: '/gateway/bot', major: null, bucket: { bucket: 'gateway-bot', limit: 10, windowMs: 1_000 } },
  { method: 'GET', path: '/users/@me', major: null, bucket: misc },
  { method: 'GET', path: '/applications/@me', major: null, bucket: misc },
  { method: 'POST', path: '/channels/:channelId/messages', major: 'channelId', bucket: messages },
  { method: 'PATCH', path: '/channels/:channelId/messages/:messageId', major: 'channelId', bucket: messageEdits },
  { method: 'DELETE', path: '/channels/:channelId/messages/:messageId', major: 'channelId', bucket: messageDeletes },
  { method: 'PUT', path: '/channels/:channelId/messages/:messageId/reactions/:emoji/@me', major: 'channelId', bucket: reactions },
  { method: 'DELETE', path: '/channels/:channelId/messages/:messageId/reactions/:emoji/@me', major: 'channelId', bucket: reactions },
  { method: 'GET', path: '/channels/:channelId', major: 'channelId', bucket: channelRead },
  {
    method: 'PATCH',
    path: '/channels/:channelId',
    major: 'channelId',
    bucket: channelEdit,
    // Renames and topic changes: 2 per 10 minutes inside the 5 per 15 s bucket.
    sublimit: { name: 'channel-name-topic', limit: 2, windowMs: 600_000, applies: hasNameOrTopic },
  },
  { method: 'GET', path: '/guilds/:guildId/channels', major: 'guildId', bucket: guildChannels },
  { method: 'PATCH', path: '/guilds/:guildId/members/:userId', major: 'guildId', bucket: memberEdit },
  { method: 'DELETE', path: '/guilds/:guildId/members/:userId', major: 'guildId', bucket: memberKick },
  { method: 'PUT', path: '/guilds/:guildId/members/:userId/roles/:roleId', major: 'guildId', bucket: memberRoles },
  { method: 'DELETE', path: '/guilds/:guildId/members/:userId/roles/:roleId', major: 'guildId', bucket: memberRoles },
  { method: 'POST', path: '/guilds/:guildId/roles', major: 'guildId', bucket: roles },
  {
    method: 'PATCH',
    path: '/guilds/:guildId/roles/:roleId',
    major: 'guildId',
    bucket: roles,
    // One role edited by everyone who may: a per-resource limit (Scope: shared), not the bot's own.
    shared: { param: 'roleId', limit: 2, windowMs: 10_000 },
  },
  { method: 'POST', path: '/interactions/:interactionId/:interactionToken/callback', major: null, bucket: null, globalExempt: true },
];

/** The stable X-RateLimit-Bucket value of a bucket name (a hash, as Discord's are opaque). */
export function bucketHash(name: string): string {
  // FNV-1a, twice with different offsets, for 16 hex characters.
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < name.length; i += 1) {
    const code = name.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code, 0x01000193 + 2) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

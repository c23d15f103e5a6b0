import type { REST } from '@discordjs/rest';
import type { GatewayDispatchEvents, GatewayDispatchPayload, GatewayIntentBits } from 'discord-api-types/v10';
import type { Logger } from './core/ports.ts';
import type { ResumeInfo } from './core/resume-info.ts';

/** The `d` of a dispatch, by its `t`: `DispatchData<'MESSAGE_CREATE'>` is the message. */
export type DispatchData<T extends `${GatewayDispatchEvents}`> = GatewayDispatchPayload extends infer P
  ? P extends { t: infer E; d: infer D }
    ? `${E & string}` extends T
      ? D
      : never
    : never
  : never;

/** Rows of a read-only SQL query against the local cache. */
export type SqlRow = Record<string, unknown>;

export interface BotQueryOptions {
  readonly maxRows?: number;
  readonly timeoutMs?: number;
  /** The result's size as JSON (a BLOB counted as its base64) at most; default 4 MiB. */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

/** What every handler receives besides the event. */
export interface BotContext {
  /** The shard that received the event. Handlers always run on the shard's owning node. */
  readonly shardId: number;
  readonly shardCount: number;
  /** Discord REST client (@discordjs/rest), already authenticated. */
  readonly rest: REST;
  /**
   * Read-only SQL against this node's cache (LiteFS replica or the embedded database), on the
   * event loop: for quick lookups. Nothing else on this node runs until it returns. More than
   * 100,000 rows or 8 MiB (as JSON) throws TOO_LARGE, counted as the rows come.
   */
  sql<T extends SqlRow = SqlRow>(query: string, params?: readonly unknown[]): T[];
  /**
   * The same SQL off the event loop, in a query process of the bot's own (apart from POST
   * /query's, so neither waits behind the other; on the event loop only where the runtime has
   * none): for reports, joins and aggregates that may take a while. Defaults: 1,000 rows, 4 MiB
   * (the rows as JSON) and 5 s; more rows than `maxRows` or bytes than `maxBytes` (TOO_LARGE) or
   * a statement past `timeoutMs` (TIMEOUT) reject with a ShardlineError rather than resolve with
   * part of the answer. A BLOB comes back as a Uint8Array.
   */
  query<T extends SqlRow = SqlRow>(query: string, params?: readonly unknown[], options?: BotQueryOptions): Promise<T[]>;
  /** Sends a gateway payload on this shard (presence, request members), rate-limited. */
  send(payload: { op: number; d: unknown }): Promise<void>;
  readonly logger: Logger;
}

/** How a shard came to be ready: a fresh session (IDENTIFY) or a continued one (RESUME). */
export interface ShardReadyInfo {
  readonly shardId: number;
  readonly kind: 'identify' | 'resume';
  readonly session: ResumeInfo;
}

export interface DispatchEvent {
  readonly t: string;
  readonly d: unknown;
  readonly shardId: number;
  readonly sessionId: string;
  /** Null for a RESUMED that carries no seq. */
  readonly seq: number | null;
}

export type DispatchHandlers = {
  [T in `${GatewayDispatchEvents}`]?: (data: DispatchData<T>, context: BotContext) => void | Promise<void>;
};

export interface BotDefinition {
  /** Intents as a bitfield or a list of GatewayIntentBits. */
  readonly intents: number | readonly GatewayIntentBits[];
  /** One handler per dispatch name, e.g. `MESSAGE_CREATE`. */
  readonly handlers?: DispatchHandlers;
  /**
   * Runs for every dispatch (READY and RESUMED included) before the typed handler, with the
   * dispatch's seq: the hook for generic processing, metrics, or de-duplicating on
   * `(shardId, sessionId, seq)` after a failover.
   */
  readonly onDispatch?: (event: DispatchEvent, context: BotContext) => void | Promise<void>;
  /**
   * Runs after a shard's IDENTIFY (READY) and after a RESUME (RESUMED): the place for the
   * setup bots usually do on READY, since a moved shard never sees READY again.
   */
  readonly shardReady?: (info: ShardReadyInfo, context: BotContext) => void | Promise<void>;
  /**
   * Which optional tables the cache fills (default: all the intents deliver). A bot that needs
   * GUILD_PRESENCES or GUILD_VOICE_STATES for its handlers but not in SQL turns the table off:
   * presence updates are the busiest writes a cache has. Events still reach the handlers.
   */
  readonly cache?: BotCacheOptions;
}

export interface BotCacheOptions {
  /** The `presences` table (needs GUILD_PRESENCES). */
  readonly presences?: boolean;
  /** The `voice_states` table (needs GUILD_VOICE_STATES). */
  readonly voiceStates?: boolean;
}

/** Identity function that gives a bot module its types. `export default defineBot({...})`. */
export function defineBot<const B extends BotDefinition>(bot: B): B {
  return bot;
}

/** The intents bitfield of a bot definition. */
export function intentsOf(bot: Pick<BotDefinition, 'intents'>): number {
  if (typeof bot.intents === 'number') return bot.intents;
  return bot.intents.reduce((all, bit) => all | bit, 0);
}

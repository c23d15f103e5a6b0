import { intentAllows, stripMessageContent } from './intents.ts';
import type { SessionRegistry } from './session-registry.ts';
import type { World } from './world.ts';
import type { Session } from './session.ts';

/**
 * Routes dispatches to sessions the way Discord does: guild events to the shard
 * `(guild_id >> 22) % shard_count` of every session, guild-less events to shard 0 only;
 * filtered by each session's intents, with message content stripped where it must be.
 */
export class Dispatcher {
  readonly #sessions: SessionRegistry;
  readonly #world: World;
  /** While set (a replay being recorded), routed dispatches go here instead of being sequenced. */
  #capture: ((session: Session, event: string, dataJson: string) => void) | null = null;

  constructor(sessions: SessionRegistry, world: World) {
    this.#sessions = sessions;
    this.#world = world;
  }

  /**
   * Runs `body` (traffic being generated) with every routed dispatch handed to `into` instead
   * of its session: the session, the event and the serialized view it would have got.
   */
  capture<T>(into: (session: Session, event: string, dataJson: string) => void, body: () => T): T {
    this.#capture = into;
    try {
      return body();
    } finally {
      this.#capture = null;
    }
  }

  /** Returns how many sessions sequenced the event. */
  dispatchToGuild(guildId: string, event: string, data: unknown): number {
    const shardKey = this.#world.guilds.get(guildId)?.shardKey ?? Number(BigInt(guildId) >> 22n);
    return this.#route(event, data, guildId, (s) => shardKey % s.shardCount === s.shardId);
  }

  /** Guild-less events (USER_UPDATE, DMs) go to shard 0 of every session. */
  dispatchGlobal(event: string, data: unknown): number {
    return this.#route(event, data, null, (s) => s.shardId === 0);
  }

  #route(event: string, data: unknown, guildId: string | null, matches: (s: Session) => boolean): number {
    const botId = this.#world.botUser.id;
    // Sessions usually share one view of the event; serialize each distinct view once.
    let plainJson: string | undefined;
    let strippedJson: string | undefined;
    let delivered = 0;
    for (const session of this.#sessions.all()) {
      if (!matches(session)) continue;
      if (!intentAllows(session.intents, event, guildId, botId, data)) continue;
      const view = stripMessageContent(session.intents, event, data, botId);
      let json: string;
      if (view === data) json = plainJson ??= JSON.stringify(data);
      else json = strippedJson ??= JSON.stringify(view);
      if (this.#capture) this.#capture(session, event, json);
      else session.dispatch(event, json);
      delivered += 1;
    }
    return delivered;
  }
}

import { intentAllows, stripMessageContent } from './intents.ts';
import type { Ledger } from './ledger.ts';
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
  readonly #ledger: Ledger;

  constructor(sessions: SessionRegistry, world: World, ledger: Ledger) {
    this.#sessions = sessions;
    this.#world = world;
    this.#ledger = ledger;
  }

  /** Returns how many sessions sequenced the event. */
  dispatchToGuild(guildId: string, event: string, data: unknown): number {
    const shardKey = this.#world.guilds.get(guildId)?.shardKey ?? Number(BigInt(guildId) >> 22n);
    const delivered = this.#route(event, data, guildId, (s) => shardKey % s.shardCount === s.shardId);
    // Not for want of an intent: no session of any count covers the guild.
    if (delivered === 0 && !this.#sessions.all().some((s) => shardKey % s.shardCount === s.shardId)) this.#ledger.noteUndelivered();
    return delivered;
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
    // One logical event however many sessions (of however many shard sets) it reaches.
    let eventNo = 0;
    for (const session of this.#sessions.all()) {
      if (!matches(session)) continue;
      if (!intentAllows(session.intents, event, guildId, botId, data)) continue;
      const view = stripMessageContent(session.intents, event, data, botId);
      let json: string;
      if (view === data) json = plainJson ??= JSON.stringify(data);
      else json = strippedJson ??= JSON.stringify(view);
      if (eventNo === 0) eventNo = this.#ledger.newEvent(event);
      session.dispatch(event, json, eventNo);
      delivered += 1;
    }
    return delivered;
  }

  /**
   * A guild event whose payload depends on the receiving session (a GUILD_CREATE is built for its
   * intents): one logical event, one payload per matching session.
   */
  dispatchToGuildPerSession(guildId: string, event: string, build: (session: Session) => unknown): number {
    const shardKey = this.#world.guilds.get(guildId)?.shardKey ?? Number(BigInt(guildId) >> 22n);
    const botId = this.#world.botUser.id;
    let eventNo = 0;
    let delivered = 0;
    for (const session of this.#sessions.all()) {
      if (shardKey % session.shardCount !== session.shardId) continue;
      if (!intentAllows(session.intents, event, guildId, botId, null)) continue;
      const data = build(session);
      if (data === undefined) continue;
      if (eventNo === 0) eventNo = this.#ledger.newEvent(event);
      session.dispatch(event, JSON.stringify(data), eventNo);
      delivered += 1;
    }
    return delivered;
  }
}

import { ChannelType } from 'discord-api-types/v10';
import type { WorldGuild } from './world.ts';

interface Cached {
  /** Size of the source map when the list was built: a guard against a change nobody reported. */
  size: number;
  ids: string[];
}

/**
 * The id lists the traffic generator picks from, built once per guild and rebuilt only after a
 * change, so picking a member or a channel allocates nothing per event. Lists keep the maps'
 * insertion order, so a seed picks exactly what rebuilding the list every time would pick.
 */
export class TrafficPicks {
  readonly #humans = new WeakMap<WorldGuild, Cached>();
  readonly #textChannels = new WeakMap<WorldGuild, Cached>();
  readonly #threads = new WeakMap<WorldGuild, Cached>();
  readonly #botId: () => string;

  constructor(botId: () => string) {
    this.#botId = botId;
  }

  /** Members other than the bot. */
  humans(wg: WorldGuild): readonly string[] {
    return this.#get(this.#humans, wg, wg.members.size, () => {
      const bot = this.#botId();
      const out: string[] = [];
      for (const id of wg.members.keys()) if (id !== bot) out.push(id);
      return out;
    });
  }

  textChannels(wg: WorldGuild): readonly string[] {
    return this.#get(this.#textChannels, wg, wg.channels.size, () => {
      const out: string[] = [];
      for (const channel of wg.channels.values()) if (channel.type === ChannelType.GuildText) out.push(channel.id);
      return out;
    });
  }

  threads(wg: WorldGuild): readonly string[] {
    return this.#get(this.#threads, wg, wg.threads.size, () => [...wg.threads.keys()]);
  }

  /** Call after adding or removing a member of `wg`. */
  membersChanged(wg: WorldGuild): void {
    this.#humans.delete(wg);
  }

  /** Call after adding or removing a channel of `wg`. */
  channelsChanged(wg: WorldGuild): void {
    this.#textChannels.delete(wg);
  }

  /** Call after adding or removing a thread of `wg`. */
  threadsChanged(wg: WorldGuild): void {
    this.#threads.delete(wg);
  }

  #get(cache: WeakMap<WorldGuild, Cached>, wg: WorldGuild, size: number, build: () => string[]): readonly string[] {
    const hit = cache.get(wg);
    if (hit && hit.size === size) return hit.ids;
    const ids = build();
    cache.set(wg, { size, ids });
    return ids;
  }
}

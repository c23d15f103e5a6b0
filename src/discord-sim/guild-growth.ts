import { ShardlineError } from '../core/errors.ts';
import type { Dispatcher } from './dispatcher.ts';
import { buildGuildCreate } from './guild-payloads.ts';
import type { TimerRegistry } from './timer-registry.ts';
import type { World } from './world.ts';

/** Discord's default large_threshold: sessions that asked for another get the same guilds, only fewer offline members. */
const LARGE_THRESHOLD = 50;

export interface GuildGrowthOptions {
  readonly perSecond: number;
  /** Stop once the world holds this many guilds. Default: no limit. */
  readonly until?: number;
}

/**
 * The bot joining guilds: each new guild is added to the world and announced with a
 * GUILD_CREATE to every session whose shard covers it, whatever its shard count (so both
 * sets of a reshard learn of it). Grows a world past a shard's guild cap for 4011 tests.
 */
export class GuildGrowth {
  readonly #world: World;
  readonly #dispatcher: Dispatcher;
  readonly #timers: TimerRegistry;
  #timer: NodeJS.Timeout | undefined;
  #rate = 0;
  #added = 0;

  constructor(world: World, dispatcher: Dispatcher, timers: TimerRegistry) {
    this.#world = world;
    this.#dispatcher = dispatcher;
    this.#timers = timers;
  }

  get perSecond(): number {
    return this.#rate;
  }

  /** Guilds added since the world was generated. */
  get added(): number {
    return this.#added;
  }

  /** Adds `n` guilds now; returns their ids. */
  add(n: number): string[] {
    if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new ShardlineError('INVALID_INPUT', `Cannot add guilds: count must be an integer from 0 to 100000, got ${String(n)}`);
    const spawn = this.#world.guildSpawner;
    if (!spawn) throw new ShardlineError('CONFLICT', 'Cannot add guilds: this world was not built by generateWorld');
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1) {
      const guild = spawn();
      this.#added += 1;
      ids.push(guild.id);
      this.#dispatcher.dispatchToGuildPerSession(guild.id, 'GUILD_CREATE', (session) => buildGuildCreate(this.#world, guild.id, session.intents, LARGE_THRESHOLD));
    }
    return ids;
  }

  /** Adds guilds at a steady rate (0 stops), up to `until` guilds in the world. */
  start(options: GuildGrowthOptions): void {
    const { perSecond, until } = options;
    if (!Number.isFinite(perSecond) || perSecond < 0) throw new ShardlineError('INVALID_INPUT', `Cannot grow the world: perSecond must be >= 0, got ${String(perSecond)}`);
    if (until !== undefined && (!Number.isInteger(until) || until < 0)) throw new ShardlineError('INVALID_INPUT', `Cannot grow the world: until must be a non-negative integer, got ${String(until)}`);
    this.stop();
    if (perSecond === 0) return;
    this.#rate = perSecond;
    let owed = 0;
    let last = performance.now();
    this.#timer = this.#timers.setInterval(() => {
      const now = performance.now();
      owed = Math.min(owed + ((now - last) / 1000) * perSecond, Math.max(1, perSecond));
      last = now;
      let due = Math.floor(owed);
      owed -= due;
      if (until !== undefined) due = Math.min(due, until - this.#world.guilds.size);
      if (due > 0) this.add(due);
      if (until !== undefined && this.#world.guilds.size >= until) this.stop();
    }, 20);
  }

  stop(): void {
    this.#timers.clear(this.#timer);
    this.#timer = undefined;
    this.#rate = 0;
  }
}

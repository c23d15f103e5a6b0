import type {
  APIApplication,
  APIBaseVoiceState,
  APIEmoji,
  APIGuild,
  APIGuildCategoryChannel,
  APIGuildMember,
  APIGuildVoiceChannel,
  APIRole,
  APITextChannel,
  APIThreadChannel,
  APIUser,
  GatewayPresenceUpdate,
} from 'discord-api-types/v10';
import { MessageStore } from './message-store.ts';
import { SnowflakeMinter } from './snowflake.ts';

/** A non-thread guild channel the world can hold. */
export type WorldChannel = APITextChannel | APIGuildVoiceChannel | APIGuildCategoryChannel;

/** One guild's ground truth. Roles and emojis live in maps; `guild.roles/emojis` are rebuilt on demand. */
export interface WorldGuild {
  readonly id: string;
  /** Scalar guild fields (roles and emojis arrays are left empty here; see `guildObject`). */
  guild: APIGuild;
  /** `guild_id >> 22`, so routing needs no BigInt per event. */
  readonly shardKey: number;
  readonly joinedAt: string;
  readonly channels: Map<string, WorldChannel>;
  readonly threads: Map<string, APIThreadChannel>;
  readonly roles: Map<string, APIRole>;
  readonly emojis: Map<string, APIEmoji>;
  /** Keyed by user id; every member carries `user`. The bot is a member of every guild. */
  readonly members: Map<string, APIGuildMember>;
  readonly presences: Map<string, GatewayPresenceUpdate>;
  /** Keyed by user id; only members currently in a voice channel. */
  readonly voiceStates: Map<string, APIBaseVoiceState>;
}

export type WorldApplication = Pick<APIApplication, 'id' | 'name' | 'description' | 'flags' | 'bot_public' | 'bot_require_code_grant' | 'verify_key' | 'icon'>;

/** An interaction Discord sent and waits for the bot to answer (through its token). */
export interface WorldInteraction {
  readonly id: string;
  readonly token: string;
  readonly guildId: string;
  readonly createdAt: number;
  /** Callbacks accepted (0 or 1) and refused with 40060 (the bot answered twice). */
  responses: number;
  refused: number;
}

/** What `FakeDiscord.world` exposes: read-only views of the ground truth. */
export interface WorldView {
  readonly seed: number;
  readonly botUser: Readonly<APIUser>;
  readonly application: Readonly<WorldApplication>;
  readonly guilds: ReadonlyMap<string, Readonly<WorldGuild>>;
  readonly users: ReadonlyMap<string, Readonly<APIUser>>;
  readonly interactions: ReadonlyMap<string, Readonly<WorldInteraction>>;
  guildObject(guildId: string): APIGuild | undefined;
  guildIdsForShard(shardId: number, shardCount: number): string[];
  findChannel(channelId: string): { guild: Readonly<WorldGuild>; channel: Readonly<WorldChannel | APIThreadChannel> } | undefined;
}

/**
 * The simulated Discord's state: guilds, channels, roles, members, users. Built by
 * `generateWorld`, mutated by the traffic generator and REST, read by the gateway.
 */
export class World implements WorldView {
  readonly seed: number;
  readonly guilds = new Map<string, WorldGuild>();
  readonly users = new Map<string, APIUser>();
  /** Interactions sent, oldest first (bounded: see addInteraction). */
  readonly interactions = new Map<string, WorldInteraction>();
  /** Users in creation order, for cheap deterministic picks. */
  readonly userIds: string[] = [];
  readonly minter: SnowflakeMinter;
  /** Recent messages, for the REST routes that edit, delete and react to them. */
  readonly messages = new MessageStore();
  botUser: APIUser;
  application: WorldApplication;
  /** Builds and adds one more guild shaped like the generated ones (the bot joined it); set by generateWorld. */
  guildSpawner: (() => WorldGuild) | null = null;
  #guildIdList: string[] | null = null;

  constructor(seed: number, minter: SnowflakeMinter, botUser: APIUser, application: WorldApplication) {
    this.seed = seed;
    this.minter = minter;
    this.botUser = botUser;
    this.application = application;
  }

  addUser(user: APIUser): void {
    this.users.set(user.id, user);
    this.userIds.push(user.id);
  }

  /** Keeps the newest 100,000: Discord's interaction tokens expire after 15 minutes anyway. */
  addInteraction(interaction: WorldInteraction): void {
    this.interactions.set(interaction.id, interaction);
    if (this.interactions.size > 100_000) this.interactions.delete(this.interactions.keys().next().value!);
  }

  addGuild(guild: WorldGuild): void {
    this.guilds.set(guild.id, guild);
    this.#guildIdList = null;
  }

  /** Guild ids in creation order (cached). */
  guildIds(): readonly string[] {
    this.#guildIdList ??= [...this.guilds.keys()];
    return this.#guildIdList;
  }

  guildObject(guildId: string): APIGuild | undefined {
    const wg = this.guilds.get(guildId);
    if (!wg) return undefined;
    return { ...wg.guild, roles: [...wg.roles.values()], emojis: [...wg.emojis.values()] };
  }

  guildIdsForShard(shardId: number, shardCount: number): string[] {
    const out: string[] = [];
    for (const wg of this.guilds.values()) if (wg.shardKey % shardCount === shardId) out.push(wg.id);
    return out;
  }

  findChannel(channelId: string): { guild: WorldGuild; channel: WorldChannel | APIThreadChannel } | undefined {
    for (const guild of this.guilds.values()) {
      const channel = guild.channels.get(channelId) ?? guild.threads.get(channelId);
      if (channel) return { guild, channel };
    }
    return undefined;
  }
}

import { ApplicationFlags, PresenceUpdateStatus } from 'discord-api-types/v10';
import type { APIGuildMember, APIThreadChannel } from 'discord-api-types/v10';
import { ShardlineError } from '../core/errors.ts';
import { SeededRandom } from './seeded-random.ts';
import { SnowflakeMinter, makeSnowflake } from './snowflake.ts';
import { World } from './world.ts';
import type { WorldChannel, WorldGuild } from './world.ts';
import {
  PRESENCE_STATUSES,
  makeCategory,
  makeEmoji,
  makeGuildBase,
  makeMember,
  makePresence,
  makeRole,
  makeTextChannel,
  makeThread,
  makeUser,
  makeVoiceChannel,
} from './world-entities.ts';

export interface WorldOptions {
  seed?: number;
  guilds?: number;
  channelsPerGuild?: number;
  rolesPerGuild?: number;
  membersPerGuild?: number;
  /** Distinct users shared across guilds; defaults to 2 x membersPerGuild (at least 10). */
  userPool?: number;
}

/** Guild ids sit on their own millisecond each, so consecutive guilds land on consecutive shards. */
const GUILD_EPOCH_MS = Date.UTC(2019, 0, 1);
/** Every other id is minted on a virtual clock that starts later, so ids never collide with guild ids. */
const ENTITY_EPOCH_MS = Date.UTC(2021, 0, 1);
/** The world's "now" for joined_at and similar timestamps. */
const JOINED_AT = new Date(Date.UTC(2023, 5, 1)).toISOString();

function count(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot build the simulated world: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return n;
}

/** Builds the deterministic world for a seed: the same options always give the same ids and names. */
export function generateWorld(options: WorldOptions = {}): World {
  const seed = count('seed', options.seed, 1, 0, 2 ** 32 - 1);
  const guildCount = count('guilds', options.guilds, 10, 0, 1_000_000);
  const channelsPerGuild = count('channelsPerGuild', options.channelsPerGuild, 6, 3, 500);
  const rolesPerGuild = count('rolesPerGuild', options.rolesPerGuild, 5, 1, 250);
  const membersPerGuild = count('membersPerGuild', options.membersPerGuild, 20, 0, 1_000_000);
  const userPool = count('userPool', options.userPool, Math.max(10, membersPerGuild * 2), 1, 10_000_000);
  const random = SeededRandom.derive(seed, 0);
  const minter = new SnowflakeMinter(ENTITY_EPOCH_MS + random.int(0, 86_400_000));

  const botUser = makeUser(minter.mint(), 0, true);
  const application = {
    id: botUser.id,
    name: 'shardline-sim',
    description: 'The application of the simulated Discord',
    icon: null,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: ApplicationFlags.GatewayPresenceLimited | ApplicationFlags.GatewayGuildMembersLimited | ApplicationFlags.GatewayMessageContentLimited,
  };
  const world = new World(seed, minter, botUser, application);
  world.addUser(botUser);
  for (let i = 1; i <= userPool; i += 1) world.addUser(makeUser(minter.mint(), i));

  const guildOffset = random.int(0, 10_000_000);
  const shape = { channelsPerGuild, rolesPerGuild, membersPerGuild, userPool };
  for (let g = 0; g < guildCount; g += 1) {
    const guildId = makeSnowflake(GUILD_EPOCH_MS + guildOffset + g, 0, 0, random.int(0, 4095));
    world.addGuild(buildGuild(world, random, guildId, g, shape));
  }
  // Guilds added later follow on from the generated ones (next millisecond, so next shard), from a
  // random stream of their own: growing the world leaves the traffic of a seed unchanged.
  const growth = SeededRandom.derive(seed, 2);
  let next = guildCount;
  world.guildSpawner = () => {
    const guildId = makeSnowflake(GUILD_EPOCH_MS + guildOffset + next, 0, 0, growth.int(0, 4095));
    const guild = buildGuild(world, growth, guildId, next, shape);
    next += 1;
    world.addGuild(guild);
    return guild;
  };
  return world;
}

interface GuildShape {
  channelsPerGuild: number;
  rolesPerGuild: number;
  membersPerGuild: number;
  userPool: number;
}

function buildGuild(world: World, random: SeededRandom, guildId: string, index: number, shape: GuildShape): WorldGuild {
  const { minter } = world;
  const humanIds = world.userIds.slice(1);
  const memberCount = Math.min(shape.membersPerGuild, humanIds.length);
  const start = random.int(0, Math.max(0, humanIds.length - 1));
  const memberIds: string[] = [];
  for (let i = 0; i < memberCount; i += 1) memberIds.push(humanIds[(start + i) % humanIds.length]!);
  const ownerId = memberIds[0] ?? world.botUser.id;
  const guild = makeGuildBase(guildId, index, ownerId);

  const roles = new Map([[guildId, makeRole(guildId, '@everyone', 0, 0)]]);
  for (let r = 1; r < shape.rolesPerGuild; r += 1) {
    const id = minter.mint();
    roles.set(id, makeRole(id, `role-${r}`, r, random.int(0, 0xffffff)));
  }
  const roleIds = [...roles.keys()].slice(1);

  const channels = new Map<string, WorldChannel>();
  const category = makeCategory(minter.mint(), guildId, 'General', 0);
  channels.set(category.id, category);
  const voiceCount = Math.max(1, Math.floor((shape.channelsPerGuild - 1) / 4));
  for (let c = 0; c < shape.channelsPerGuild - 1; c += 1) {
    const id = minter.mint();
    const channel = c < shape.channelsPerGuild - 1 - voiceCount
      ? makeTextChannel(id, guildId, c === 0 ? 'general' : `chat-${c}`, c, category.id)
      : makeVoiceChannel(id, guildId, `voice-${c}`, c, category.id);
    channels.set(id, channel);
  }
  const firstText = [...channels.values()].find((c) => c.type === 0)!;
  guild.system_channel_id = firstText.id;

  const threads = new Map<string, APIThreadChannel>();
  const threadCount = random.int(1, 2);
  for (let t = 0; t < threadCount; t += 1) {
    const id = minter.mint();
    threads.set(id, makeThread(id, guildId, firstText.id, ownerId, `thread-${t}`, JOINED_AT));
  }

  const emojis = new Map();
  for (let e = 0; e < random.int(1, 4); e += 1) {
    const id = minter.mint();
    emojis.set(id, makeEmoji(id, `emoji_${index}_${e}`));
  }

  const members = new Map<string, APIGuildMember>();
  const presences = new Map();
  members.set(world.botUser.id, makeMember(world.botUser, [], JOINED_AT));
  presences.set(world.botUser.id, makePresence(world.botUser.id, guildId, PresenceUpdateStatus.Online));
  for (const userId of memberIds) {
    const memberRoles = roleIds.filter(() => random.chance(0.3));
    members.set(userId, makeMember(world.users.get(userId)!, memberRoles, JOINED_AT));
    presences.set(userId, makePresence(userId, guildId, random.pick(PRESENCE_STATUSES)!));
  }

  return {
    id: guildId,
    guild,
    shardKey: Number(BigInt(guildId) >> 22n),
    joinedAt: JOINED_AT,
    channels,
    threads,
    roles,
    emojis,
    members,
    presences,
    voiceStates: new Map(),
  };
}

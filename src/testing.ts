// The package export `shardline/testing`: the simulated Discord for users' own tests.
export { FakeDiscord, SIM_CLOSE_CODES } from './discord-sim/fake-discord.ts';
export type {
  ConnectionInfo,
  FakeDiscordOptions,
  HandledDispatch,
  LedgerCheck,
  LedgerEvent,
  LedgerTransmission,
  SimStats,
  TrafficEvent,
  TrafficMix,
  TrafficStartOptions,
  WorldGuild,
  WorldOptions,
  WorldView,
} from './discord-sim/fake-discord.ts';

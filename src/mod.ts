/**
 * The public API of shardline: what a bot module and an embedding program import from
 * 'shardline'. The simulated Discord is in 'shardline/testing'.
 */
export { defineBot, intentsOf } from './bot.ts';
export type { BotContext, BotDefinition, DispatchData, DispatchEvent, DispatchHandlers, ShardReadyInfo, SqlRow } from './bot.ts';
export { loadConfig } from './config/load-config.ts';
export type { Config } from './config/load-config.ts';
export { ShardlineError, isShardlineError, ERROR_CODES } from './core/errors.ts';
export type { ErrorCode } from './core/errors.ts';
export type { ResumeInfo } from './core/resume-info.ts';
export { parseResumeInfo } from './core/resume-info.ts';
export { CLOSE_CODE_TABLE, OWN_CLOSE_CODES, closePolicy } from './core/close-codes.ts';
export { Host, createHost, VERSION } from './host.ts';
export type { HostOptions, StartupProgress } from './host.ts';
export { Shard } from './gateway/shard.ts';
export type { ShardOptions } from './gateway/shard-options.ts';
export { createLogger } from './log/create-logger.ts';

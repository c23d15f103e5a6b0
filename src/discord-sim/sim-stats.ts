import type { RestStatsSnapshot } from './rest-stats.ts';

/** Counters exposed as `FakeDiscord.stats`. */
export interface SimStats {
  identifies: number;
  resumes: number;
  identifiesByShard: Record<number, number>;
  resumesByShard: Record<number, number>;
  invalidSessions: number;
  /** Heartbeats (op 1) received from clients, and those answered with op 11. */
  heartbeats: number;
  heartbeatAcks: number;
  /** Interaction callbacks accepted. */
  interactionResponses: number;
  /** Later callbacks of an already answered interaction, refused with 40060. */
  interactionsAnsweredTwice: number;
  /** REST's counts (in GET /_sim/stats; `FakeDiscord.restStats` in process). */
  rest?: RestStatsSnapshot;
}

export function createSimStats(): SimStats {
  return { identifies: 0, resumes: 0, identifiesByShard: {}, resumesByShard: {}, invalidSessions: 0, heartbeats: 0, heartbeatAcks: 0, interactionResponses: 0, interactionsAnsweredTwice: 0 };
}

export function copySimStats(stats: SimStats): SimStats {
  return { ...stats, identifiesByShard: { ...stats.identifiesByShard }, resumesByShard: { ...stats.resumesByShard } };
}

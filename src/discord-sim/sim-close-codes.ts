/**
 * Close codes the sim chooses where Discord documents none. Both keep the session resumable
 * (neither is 1000/1001, and both resume under shardline's and discord.js's policies).
 */
export const SIM_CLOSE_CODES = {
  /** No heartbeat for heartbeat_interval x 1.5: Discord's "unknown error, reconnect". */
  heartbeatTimeout: 4000,
  /** Op 7 was sent and the client did not reconnect within the grace period. */
  reconnectGrace: 4000,
  /** Another connection RESUMEd this connection's session; this one is superseded. */
  superseded: 4999,
} as const;

/** Server-side closes after which Discord's session is gone (the client must identify). */
export const SESSION_ENDING_SERVER_CODES: ReadonlySet<number> = new Set([4003, 4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014]);

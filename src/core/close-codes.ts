/**
 * What a shard does after its gateway socket closes, as data. The shard never branches on
 * close codes itself: it looks the code up here. A test walks every row.
 *
 * - `resume`:   reconnect to resume_gateway_url and RESUME (falls back to identify if the
 *               server answers op 9 false, or after too many failed attempts).
 * - `identify`: forget the session, reconnect to the gateway URL and IDENTIFY.
 * - `fatal`:    stop the shard and surface a GATEWAY_FATAL error; retrying cannot help.
 */
export type CloseAction = 'resume' | 'identify' | 'fatal';

export interface ClosePolicy {
  readonly action: CloseAction;
  readonly name: string;
  /** Why this action, for the log line and for the person reading the table. */
  readonly why: string;
}

/** Close codes shardline itself sends. None is 1000/1001, which would end the session. */
export const OWN_CLOSE_CODES = {
  /** Planned detach (handoff, graceful stop): the session must stay resumable. */
  detach: 4900,
  /** No heartbeat ACK between two heartbeats. */
  zombie: 4901,
  /** Server asked us to reconnect (op 7) or said the session may be resumed (op 9 true). */
  reconnect: 4902,
  /** The server sent something we could not decode; reconnect and resume. */
  badFrame: 4903,
  /** Re-identify requested (op 9 false, failed resume): the session is dead anyway. */
  reidentify: 4904,
} as const;

export const CLOSE_CODE_TABLE: Readonly<Record<number, ClosePolicy>> = {
  1000: { action: 'resume', name: 'Normal closure (server)', why: 'A server-side 1000 is usually a load balancer; resume, and op 9 tells us if the session is gone' },
  1001: { action: 'resume', name: 'Going away (server)', why: 'Gateway restarts; the session survives' },
  1006: { action: 'resume', name: 'Abnormal closure', why: 'TCP dropped without a close frame; the session is kept server-side for minutes' },
  1011: { action: 'resume', name: 'Internal server error', why: 'Transient server fault' },
  1012: { action: 'resume', name: 'Service restart', why: 'Transient server fault' },
  4000: { action: 'resume', name: 'Unknown error', why: 'Discord documents it as reconnectable' },
  4001: { action: 'resume', name: 'Unknown opcode', why: 'We sent something odd; the session itself is fine' },
  4002: { action: 'resume', name: 'Decode error', why: 'We sent something undecodable; the session itself is fine' },
  4003: { action: 'identify', name: 'Not authenticated', why: 'The server has no session for this socket' },
  4004: { action: 'fatal', name: 'Authentication failed', why: 'The token is wrong; every retry would fail and burn identify budget' },
  4005: { action: 'identify', name: 'Already authenticated', why: 'Double identify; start clean' },
  4007: { action: 'identify', name: 'Invalid seq', why: 'The resume seq is unknown to the server; a new session is required' },
  4008: { action: 'resume', name: 'Rate limited', why: 'Sends exceeded 120/60 s; the session is intact, resuming costs no identify' },
  4009: { action: 'identify', name: 'Session timed out', why: 'Discord says to start a new session' },
  4010: { action: 'fatal', name: 'Invalid shard', why: 'The shard id or count is invalid for this bot' },
  4011: { action: 'fatal', name: 'Sharding required', why: 'Too many guilds for this shard count; reshard first' },
  4012: { action: 'fatal', name: 'Invalid API version', why: 'The gateway version is not supported' },
  4013: { action: 'fatal', name: 'Invalid intents', why: 'The intents bitfield is malformed' },
  4014: { action: 'fatal', name: 'Disallowed intents', why: 'A privileged intent is not enabled for this application' },
  [OWN_CLOSE_CODES.detach]: { action: 'resume', name: 'Detached by shardline', why: 'Planned move; the new owner resumes' },
  [OWN_CLOSE_CODES.zombie]: { action: 'resume', name: 'Zombie connection', why: 'Heartbeat ACK missing; the session is intact' },
  [OWN_CLOSE_CODES.reconnect]: { action: 'resume', name: 'Reconnect requested', why: 'op 7 or op 9 true' },
  [OWN_CLOSE_CODES.badFrame]: { action: 'resume', name: 'Undecodable frame', why: 'A corrupt frame breaks the zlib context; reconnect and resume' },
  [OWN_CLOSE_CODES.reidentify]: { action: 'identify', name: 'Re-identify', why: 'op 9 false or resume given up' },
};

/** Codes not in the table: resume, as Discord's docs advise for unknown disconnects. */
export const DEFAULT_CLOSE_POLICY: ClosePolicy = {
  action: 'resume',
  name: 'Unlisted close code',
  why: 'Unknown disconnects are resumable; the server answers op 9 if they are not',
};

export function closePolicy(code: number): ClosePolicy {
  return CLOSE_CODE_TABLE[code] ?? DEFAULT_CLOSE_POLICY;
}

/** Closing with these from the client side deletes the Discord session. */
export function closeEndsSession(code: number): boolean {
  return code === 1000 || code === 1001;
}

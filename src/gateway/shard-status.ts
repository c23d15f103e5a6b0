/**
 * Where a shard is in its life. `detached`, `stopped` and `failed` are terminal until the
 * next `start()`; `failed` means Discord refused the session for good (GATEWAY_FATAL).
 */
export const SHARD_STATUSES = [
  'idle',
  'connecting',
  'identifying',
  'resuming',
  'ready',
  'reconnecting',
  'detached',
  'stopped',
  'failed',
] as const;

export type ShardStatus = (typeof SHARD_STATUSES)[number];

/** Statuses from which `start()` may be called. */
export function canStart(status: ShardStatus): boolean {
  return status === 'idle' || status === 'detached' || status === 'stopped' || status === 'failed';
}

/** Heartbeats a starting node waits for a primary to be named before it warns (a LiteFS election takes a few seconds). */
const BOOT_PATIENCE_HEARTBEATS = 10;

/**
 * How a failed heartbeat is logged. A node that has not reached a primary yet and hears that
 * none is known is waiting for LiteFS to elect one (every cluster start): that is news only
 * once it lasts. Otherwise the first failure warns, then the 10th and every 30th.
 */
export function heartbeatFailureLevel(failures: number, code: string | undefined, reachedBefore: boolean): 'debug' | 'info' | 'warn' {
  if (!reachedBefore && code === 'NO_PRIMARY' && failures < BOOT_PATIENCE_HEARTBEATS) return failures === 1 ? 'info' : 'debug';
  if (failures === 1 || failures === BOOT_PATIENCE_HEARTBEATS || failures % 30 === 0) return 'warn';
  return 'debug';
}

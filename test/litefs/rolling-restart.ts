import type { RecordedDispatch, ShardlineCluster } from './shardline-cluster.ts';

/** One node's turn in a rolling restart. */
export interface RestartTurn {
  readonly hostname: string;
  readonly wasPrimary: boolean;
  /** LiteFS's exit code after the stop signal (null: it had to be SIGKILLed). */
  readonly exitCode: number | null;
  readonly killed: boolean;
  /** From the stop signal to LiteFS's exit (the app's leave and stop, then LiteFS's own unmount). */
  readonly stopMs: number;
  /** The node's own account of its leave (its 'left the cluster' log line), when it logged one. */
  readonly leave: { readonly outcome: string; readonly tookMs: number; readonly shards: number; readonly leftover: number; readonly primaryHandoffMs: number | null; readonly newPrimary: string | null } | null;
  /** From the restart to every shard ready again with every node holding some. */
  readonly rejoinMs: number;
}

/**
 * Restarts every node in turn as a platform deploy does: the stop signal to LiteFS alone (which
 * passes it to shardline and waits for it), SIGKILL after `killAfterMs`, then the node starts
 * again and the next waits until the cluster has settled with shards on every node.
 */
export async function rollingRestart(c: ShardlineCluster, options: { order?: readonly string[]; killAfterMs: number; onTurn?: (turn: RestartTurn) => void }): Promise<RestartTurn[]> {
  const turns: RestartTurn[] = [];
  for (const hostname of options.order ?? c.hostnames) {
    const wasPrimary = (await c.status(hostname)).node.role === 'primary';
    const logFrom = c.log(hostname).length;
    const stopped = await c.terminate(hostname, options.killAfterMs);
    const leave = leaveLine(c.log(hostname).slice(logFrom));
    const restarted = Date.now();
    await c.restart(hostname);
    await c.settled({ spread: true, timeoutMs: 90_000 });
    const turn: RestartTurn = { hostname, wasPrimary, exitCode: stopped.exitCode, killed: stopped.killed, stopMs: stopped.tookMs, leave, rejoinMs: Date.now() - restarted };
    options.onTurn?.(turn);
    turns.push(turn);
  }
  return turns;
}

/** The node's 'left the cluster' (or stop) log line: pino JSON in the LiteFS log, which carries the app's output. */
function leaveLine(log: string): RestartTurn['leave'] {
  for (const line of log.split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (entry['component'] !== 'leave' || typeof entry['outcome'] !== 'string') continue;
    return {
      outcome: entry['outcome'],
      tookMs: Number(entry['tookMs']),
      shards: Number(entry['shards']),
      leftover: Number(entry['leftover']),
      primaryHandoffMs: typeof entry['primaryHandoffMs'] === 'number' ? entry['primaryHandoffMs'] : null,
      newPrimary: typeof entry['newPrimary'] === 'string' ? entry['newPrimary'] : null,
    };
  }
  return null;
}

/**
 * Per shard and per change of node process: the time between the last dispatch handled by the
 * old process and the first handled by the new one, in seq order within each session. A shard
 * that moved by resume has one session throughout, so every change is one move; a shard that a
 * restarted node resumed itself (its old process stopped without moving it) counts too.
 */
export function moveGaps(records: readonly RecordedDispatch[]): { shardId: number; from: string; to: string; gapMs: number; at: number }[] {
  const gaps: { shardId: number; from: string; to: string; gapMs: number; at: number }[] = [];
  const byTrack = new Map<string, RecordedDispatch[]>();
  for (const r of records) {
    const key = `${r.shardId}/${r.sessionId}`;
    const list = byTrack.get(key);
    if (list) list.push(r);
    else byTrack.set(key, [r]);
  }
  for (const list of byTrack.values()) {
    list.sort((a, b) => a.seq - b.seq || a.at - b.at);
    for (let i = 1; i < list.length; i++) {
      const [prev, next] = [list[i - 1]!, list[i]!];
      if ((prev.node !== next.node || prev.pid !== next.pid) && next.seq > prev.seq) {
        const [from, to] = prev.node === next.node ? [`${prev.node} (${String(prev.pid)})`, `${next.node} (${String(next.pid)})`] : [prev.node, next.node];
        gaps.push({ shardId: next.shardId, from, to, gapMs: next.at - prev.at, at: next.at });
      }
    }
  }
  return gaps;
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the smallest value with at least p% of the samples at or below it.
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

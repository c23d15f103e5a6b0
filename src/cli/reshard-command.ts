import { sleep } from '../core/abort.ts';
import type { ApiResult } from './admin-api.ts';

/** What GET /reshard answers (everything optional: an older node still prints). */
export interface ReshardProgress {
  generation?: number;
  from?: { shardCount?: number };
  to?: number;
  trigger?: string;
  phase?: string;
  reason?: string | null;
  groups?: { switched: boolean }[];
  shards?: { status: string | null; caughtUp: boolean | null }[];
  identifies?: number;
}

type Api = (method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs?: number) => Promise<ApiResult>;

/** One line of progress: what a person watching a reshard wants to see change. */
export function formatReshard(r: ReshardProgress): string {
  const shards = r.shards ?? [];
  const ready = shards.filter((s) => s.status === 'ready' && s.caughtUp).length;
  const groups = r.groups ?? [];
  const switched = groups.filter((g) => g.switched).length;
  const head = `reshard ${r.from?.shardCount ?? '?'} -> ${r.to ?? '?'} (generation ${r.generation ?? '?'}, ${r.trigger ?? '?'})`;
  if (r.phase === 'done') return `${head}: done; ${r.to} shards, ${r.identifies ?? '?'} IDENTIFYs`;
  if (r.phase === 'aborted') return `${head}: rolled back: ${r.reason ?? 'no reason recorded'}`;
  return `${head}: ${r.phase ?? '?'}; new shards ready ${ready}/${shards.length}, groups switched ${switched}/${groups.length}, IDENTIFYs ${r.identifies ?? '?'}`;
}

/**
 * `shardline reshard <count|auto>`: asks the node (any node; a replica forwards it) to start
 * a live reshard, then follows it until it is done or rolled back, one line per change, unless
 * `waitMs` is 0.
 */
export async function runReshard(api: Api, target: number | 'auto', waitMs: number, out: (line: string) => void): Promise<ApiResult> {
  const started = await api('POST', '/reshard', { shardCount: target, via: 'cli' }, 90_000);
  if (!started.ok) return started;
  const s = (started.json as { reshard?: { from?: number; to?: number; generation?: number; groups?: number } }).reshard ?? {};
  out(`resharding ${s.from} -> ${s.to} shards (generation ${s.generation}, ${s.groups} switch group${s.groups === 1 ? '' : 's'}): the new set starts beside the old one`);
  if (waitMs === 0) return started;
  const deadline = AbortSignal.timeout(waitMs);
  let last = '';
  for (;;) {
    const polled = await api('GET', '/reshard');
    if (!polled.ok) return polled;
    const progress = (polled.json as { reshard?: ReshardProgress | null }).reshard;
    if (progress && progress.generation === s.generation) {
      const line = formatReshard(progress);
      if (line !== last) out(line);
      last = line;
      if (progress.phase === 'done') return polled;
      if (progress.phase === 'aborted') return { ok: false, message: line };
    }
    try {
      await sleep(500, deadline);
    } catch {
      return { ok: false, message: `still resharding after ${waitMs} ms; follow it with shardline status or GET /reshard` };
    }
  }
}

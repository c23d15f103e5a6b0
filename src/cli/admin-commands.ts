import { parseArgs } from 'node:util';
import type { Runtime } from '../core/runtime.ts';
import { adminTarget, callAdminApi, type ApiResult } from './admin-api.ts';
import { formatTable } from './format-table.ts';
import { formatReshard, runReshard, type ReshardProgress } from './reshard-command.ts';

export const ADMIN_COMMANDS = ['takeover', 'move', 'drain', 'status', 'reshard'] as const;
export type AdminCommand = (typeof ADMIN_COMMANDS)[number];

export const ADMIN_USAGE = `Usage:
  shardline takeover [--timeout <ms>]       make the node at --url the primary
  shardline move <shard> <node>             move a shard to a node by RESUME
  shardline drain <node> [--wait <ms>]      move every shard off a node that stays up (maintenance)
  shardline drain <node> --undrain          let the node take shards again
  shardline status [--json]                 nodes, shards per node, identify budget
  shardline reshard <count|auto> [--wait <ms>]
                                            grow (or shrink) to <count> shards live, or to
                                            Discord's recommended count; follows it until done
                                            (--wait 0 returns once it started; default 600000)

Options:
  --url <url>     the node's HTTP API (default $SHARDLINE_URL or http://127.0.0.1:8080)
The admin token is read from $SHARDLINE_ADMIN_TOKEN (never from the command line).`;

type Io = Pick<Runtime, 'env' | 'stdout' | 'stderr'>;

/** Exit codes as the rest of the CLI: 0 done, 1 the node refused or failed, 2 bad usage. */
export async function runAdminCommand(command: AdminCommand, argv: readonly string[], io: Io, fetchImpl: typeof fetch = fetch): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        timeout: { type: 'string' },
        wait: { type: 'string' },
        undrain: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  if (parsed.values.help) {
    io.stdout(`${ADMIN_USAGE}\n`);
    return 0;
  }
  const positionals = parsed.positionals;
  const target = adminTarget(parsed.values.url ?? io.env['SHARDLINE_URL'] ?? 'http://127.0.0.1:8080', io.env);
  if (!target.ok) {
    if (target.usage) return usage(io, target.problem);
    io.stderr(`shardline: ${target.problem}\n`);
    return 2;
  }
  const { base, token } = target;
  const api = (method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 30_000) => callAdminApi(fetchImpl, base, token, method, path, body, timeoutMs);

  let result: ApiResult;
  switch (command) {
    case 'takeover': {
      if (positionals.length > 0) return usage(io, 'takeover takes no arguments');
      const timeoutMs = parsed.values.timeout === undefined ? undefined : positiveInt(parsed.values.timeout);
      if (timeoutMs === null) return usage(io, `--timeout must be a positive number of milliseconds, got ${JSON.stringify(parsed.values.timeout)}`);
      result = await api('POST', '/takeover', timeoutMs === undefined ? {} : { timeoutMs }, (timeoutMs ?? 15_000) + 10_000);
      if (result.ok) {
        const r = result.json as { tookMs: number; alreadyPrimary: boolean; primary: string };
        io.stdout(r.alreadyPrimary ? `${r.primary} already is the primary\n` : `${r.primary} is the primary now (took ${r.tookMs} ms)\n`);
      }
      break;
    }
    case 'move': {
      const [shard, node, ...extra] = positionals;
      if (shard === undefined || node === undefined || extra.length > 0) return usage(io, 'move needs a shard id and a node id: shardline move <shard> <node>');
      if (!/^\d{1,5}$/.test(shard)) return usage(io, `shard id must be a non-negative integer, got ${JSON.stringify(shard)}`);
      result = await api('POST', `/shards/${shard}/move`, { to: node }, 120_000);
      if (result.ok) {
        const r = result.json as { shardId: number; from: string; to: string; epoch: number; seq: number; tookMs: number; gapMs?: number };
        io.stdout(`shard ${r.shardId} moved ${r.from} -> ${r.to} by RESUME after seq ${r.seq} (epoch ${r.epoch}, took ${r.tookMs} ms${r.gapMs === undefined ? '' : `, gap ${r.gapMs} ms`})\n`);
      }
      break;
    }
    case 'drain': {
      const [node, ...extra] = positionals;
      if (node === undefined || extra.length > 0) return usage(io, 'drain needs one node id: shardline drain <node> [--undrain]');
      const waitMs = parsed.values.wait === undefined ? undefined : positiveInt(parsed.values.wait, true);
      if (waitMs === null) return usage(io, `--wait must be a number of milliseconds, got ${JSON.stringify(parsed.values.wait)}`);
      const path = `/nodes/${encodeURIComponent(node)}/${parsed.values.undrain ? 'undrain' : 'drain'}`;
      result = await api('POST', path, parsed.values.undrain || waitMs === undefined ? {} : { waitMs }, (waitMs ?? 30_000) + 10_000);
      if (result.ok) {
        const r = result.json as { node: string; draining: boolean; shards: number[]; done: boolean; tookMs: number };
        if (!r.draining) io.stdout(`${r.node} takes shards again\n`);
        else if (r.done) io.stdout(`${r.node} is drained: it holds no shard (took ${r.tookMs} ms)\n`);
        else io.stdout(`${r.node} is draining; still holding shard${r.shards.length === 1 ? '' : 's'} ${r.shards.join(', ')} (run again or see shardline status)\n`);
      }
      break;
    }
    case 'reshard': {
      const [count, ...extra] = positionals;
      if (count === undefined || extra.length > 0 || !(count === 'auto' || /^\d{1,5}$/.test(count))) return usage(io, 'reshard needs a shard count or auto: shardline reshard <count|auto>');
      const waitMs = parsed.values.wait === undefined ? 600_000 : positiveInt(parsed.values.wait, true);
      if (waitMs === null) return usage(io, `--wait must be a number of milliseconds, got ${JSON.stringify(parsed.values.wait)}`);
      result = await runReshard(api, count === 'auto' ? 'auto' : Number(count), waitMs, (line) => io.stdout(`${line}\n`));
      break;
    }
    case 'status': {
      if (positionals.length > 0) return usage(io, 'status takes no arguments');
      result = await api('GET', '/status');
      if (result.ok) io.stdout(parsed.values.json ? `${JSON.stringify(result.json, null, 2)}\n` : `${formatStatus(result.json as StatusView, Date.now())}\n`);
      break;
    }
  }
  if (result.ok) return 0;
  io.stderr(`shardline: ${result.message}\n`);
  return 1;
}

function usage(io: Io, problem: string): number {
  io.stderr(`shardline: ${problem}\n\n${ADMIN_USAGE}\n`);
  return 2;
}

function positiveInt(text: string, allowZero = false): number | null {
  if (!/^\d{1,9}$/.test(text)) return null;
  const n = Number(text);
  return n > 0 || allowZero ? n : null;
}

/** The parts of GET /status the table shows; everything is optional so an older node still prints. */
export interface StatusView {
  node?: { id?: string; role?: string; primary?: string | null; mode?: string; version?: string };
  shardCount?: number;
  shards?: { shardId: number; status: string; epoch: number; seq: number | null; sessionAgeMs?: number | null; eventsPerSecond?: number | null }[];
  nodes?: { id: string; lastHeartbeatAt: number; draining: boolean; version: string }[];
  assignments?: { shardId: number; nodeId: string | null; state: string }[];
  identify?: { total: number; remaining: number; reserve: number; resetAt: number } | null;
  rest?: {
    node?: { limit: number; share: number; source: string; sent: number; rateLimited: Record<string, number>; invalid: { cluster: number; limit: number; level: string; throttleAt: number; stopAt: number } };
  } | null;
  reshard?: ReshardProgress | null;
}

/** A compact view for a terminal: the cluster's nodes with their shards, this node's shards, the identify budget. */
export function formatStatus(status: StatusView, now: number): string {
  const node = status.node ?? {};
  const lines = [`node ${node.id ?? '?'}: ${node.role ?? 'unknown'} (${node.mode ?? '?'} mode, v${node.version ?? '?'}); primary: ${node.primary ?? 'none known'}; ${status.shardCount ?? '?'} shards`];
  const held = new Map<string, number[]>();
  const unplaced: string[] = [];
  for (const a of status.assignments ?? []) {
    if (a.nodeId) held.set(a.nodeId, [...(held.get(a.nodeId) ?? []), a.shardId]);
    else unplaced.push(`${a.shardId} (${a.state})`);
  }
  const rows = (status.nodes ?? []).map((n) => {
    const shards = (held.get(n.id) ?? []).sort((a, b) => a - b);
    return [n.id, n.id === node.primary ? 'primary' : 'replica', shards.length, compactList(shards), `${ago(now - n.lastHeartbeatAt)} ago`, n.draining ? 'yes' : 'no', n.version];
  });
  lines.push('', formatTable(['node', 'role', 'shards', 'ids', 'heartbeat', 'draining', 'version'], rows));
  if (unplaced.length > 0) lines.push(`not running: ${unplaced.join(', ')}`);
  const mine = status.shards ?? [];
  if (mine.length > 0) {
    lines.push('', `shards on ${node.id ?? 'this node'}:`);
    lines.push(formatTable(['shard', 'status', 'epoch', 'seq', 'session', 'events/s'], mine.map((s) => [s.shardId, s.status, s.epoch, s.seq, s.sessionAgeMs == null ? null : ago(s.sessionAgeMs), s.eventsPerSecond ?? null])));
  }
  if (status.reshard && (status.reshard.phase === 'identifying' || status.reshard.phase === 'switching')) lines.push('', formatReshard(status.reshard));
  const identify = status.identify;
  lines.push('', identify ? `identify budget: ${identify.remaining}/${identify.total} left (reserve ${identify.reserve}), resets in ${ago(identify.resetAt - now)}` : 'identify budget: kept by the primary (run status against it)');
  const rest = status.rest?.node;
  if (rest) {
    const limited = Object.entries(rest.rateLimited).map(([scope, n]) => `${scope} ${n}`).join(', ');
    lines.push(`REST: this node's share ${rest.share} of ${rest.limit}/s (${rest.source}), ${rest.sent} sent, 429s: ${limited}`);
    const inv = rest.invalid;
    lines.push(`invalid REST answers in the cluster: ${inv.cluster} of ${inv.limit} per 10 min that get the IP banned (${inv.level}; throttles at ${inv.throttleAt}, stops at ${inv.stopAt})`);
  }
  return lines.join('\n');
}

function compactList(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    parts.push(j > i + 1 ? `${ids[i]}-${ids[j]}` : j === i + 1 ? `${ids[i]},${ids[j]}` : String(ids[i]));
    i = j;
  }
  return parts.join(',') || '-';
}

function ago(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

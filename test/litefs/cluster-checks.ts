import { expect } from 'vitest';
import { waitFor } from '../helpers/wait-for.ts';
import type { HostStatus } from '../../src/host/host-status.ts';
import type { RecordedDispatch, ShardlineCluster } from './shardline-cluster.ts';

/** Figures the suite measures, printed with one prefix so a run's output can be grepped. */
export function figure(name: string, values: Record<string, unknown>): void {
  console.info(`[litefs figure] ${name} ${JSON.stringify(values)}`);
}

/**
 * The ledger over every shard: nothing lost; nothing handled twice, except (for `crashed`
 * shards) dispatches the crashed node had handled itself before it died (contract 7:
 * at-least-once only between the last commit and the crash).
 */
export function expectLedger(cluster: ShardlineCluster, records: readonly RecordedDispatch[], crashed: { node: string; shards: readonly number[]; at: number } | null = null): { delivered: number; duplicated: number } {
  let delivered = 0;
  let duplicated = 0;
  cluster.ledgerChecks(records).forEach((check, shardId) => {
    expect(check.expected, `shard ${shardId} sequenced dispatches`).toBeGreaterThan(0);
    expect(check.lost, `shard ${shardId} lost`).toEqual([]);
    delivered += check.delivered;
    duplicated += check.duplicated.length;
    if (crashed === null || !crashed.shards.includes(shardId)) {
      expect(check.duplicated.length, `shard ${shardId} duplicated: ${describeDuplicates(records, shardId, check.duplicated)}`).toBe(0);
      return;
    }
    const handledByVictim = new Set(records.filter((r) => r.node === crashed.node && r.shardId === shardId && r.at <= crashed.at).map((r) => `${r.sessionId}#${r.seq}`));
    for (const dup of check.duplicated) expect(handledByVictim.has(`${dup.sessionId}#${dup.seq}`), `shard ${shardId} ${dup.sessionId}#${dup.seq} twice, but not handled by ${crashed.node} before the crash`).toBe(true);
  });
  return { delivered, duplicated };
}

/** Which nodes handled the duplicated dispatches, and when: enough to tell a failover from a local restart. */
function describeDuplicates(records: readonly RecordedDispatch[], shardId: number, duplicated: readonly { sessionId: string; seq: number }[]): string {
  if (duplicated.length === 0) return 'none';
  const seqs = duplicated.map((d) => d.seq);
  const sample = [duplicated[0]!, duplicated[duplicated.length - 1]!].map((d) => {
    const by = records.filter((r) => r.shardId === shardId && r.sessionId === d.sessionId && r.seq === d.seq).map((r) => `${r.node}@${r.at}`);
    return `#${d.seq} by ${by.join(', ')}`;
  });
  return `${duplicated.length} twice, seq ${Math.min(...seqs)}..${Math.max(...seqs)}; ${sample.join('; ')}`;
}

/** shard id -> committed seq, from the node's own database. */
export async function committedSeqs(cluster: ShardlineCluster, hostname: string): Promise<Map<number, number>> {
  const rows = await cluster.query(hostname, 'select shard_id, seq from shard_sessions');
  return new Map(rows.map((r) => [Number(r[0]), Number(r[1])]));
}

/** The highest seq handled per shard (all records are of one session per shard while nothing re-identifies). */
export function lastHandled(records: readonly RecordedDispatch[]): Map<number, number> {
  const last = new Map<number, number>();
  for (const r of records) last.set(r.shardId, Math.max(last.get(r.shardId) ?? 0, r.seq));
  return last;
}

/** For every shard ready on the node: its open simulator connection and its readySince. */
export interface ShardSnapshot {
  readonly shardId: number;
  readonly connectionId: string;
  readonly readySince: number | null;
}

export function snapshotShards(cluster: ShardlineCluster, status: HostStatus): ShardSnapshot[] {
  return status.shards
    .filter((s) => s.status === 'ready')
    .map((s) => {
      const open = cluster.discord.connections(s.shardId).filter((c) => c.open);
      expect(open, `shard ${s.shardId} has exactly one open gateway connection`).toHaveLength(1);
      return { shardId: s.shardId, connectionId: open[0]!.id, readySince: s.readySince };
    });
}

/** The shards never stopped: the same connection is still open and the node saw no new READY/RESUMED. */
export async function expectNeverStopped(cluster: ShardlineCluster, hostname: string, before: readonly ShardSnapshot[]): Promise<void> {
  const status = await cluster.status(hostname);
  for (const shard of before) {
    const now = status.shards.find((s) => s.shardId === shard.shardId);
    expect(now?.status, `shard ${shard.shardId} on ${hostname}`).toBe('ready');
    expect(now?.readySince, `shard ${shard.shardId} on ${hostname} readySince`).toBe(shard.readySince);
    const connection = cluster.discord.connections(shard.shardId).find((c) => c.id === shard.connectionId);
    expect(connection?.open, `shard ${shard.shardId}'s gateway connection ${shard.connectionId} still open`).toBe(true);
  }
}

/**
 * waitFor for a state that takes several reads to judge: `check` returns true when done, else
 * a description of what it saw, which the timeout error then carries.
 */
export async function waitUntil(message: string, check: () => Promise<true | string> | true | string, timeoutMs = 20_000): Promise<void> {
  let seen = '';
  await waitFor(async () => {
    const result = await check();
    if (result === true) return true;
    seen = result;
    return false;
  }, { timeoutMs, intervalMs: 50, message }).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; last seen: ${seen}`, { cause: error });
  });
}

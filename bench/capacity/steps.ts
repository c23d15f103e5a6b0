/**
 * One traffic step of bench/cluster-capacity.ts: the simulated Discord prepares RATE x SECONDS
 * events (replay mode: generated and encoded before the clock starts, so the simulator's own
 * CPU stays out of the nodes' way) and plays them at RATE, paced every few ms, while the bench
 * samples how far the primary's committed seqs trail what Discord sent, and whether the write
 * funnel pushes back on the shards. Optionally it also records when each other node could read
 * each shard's seqs (staleness).
 */
import type { HostStatus } from '../../src/host/host-status.ts';
import type { CapacityTarget } from './targets.ts';

export interface StepResult {
  readonly rate: number;
  readonly seconds: number;
  readonly sent: number;
  readonly handledPerSec: number;
  /** Events whose cache rows and seq the primary committed during the step, per second. */
  readonly committedPerSec: number;
  readonly rowsPerSec: number;
  readonly txPerSec: number;
  /** Cores the cluster kept busy during the step (CapacityTarget.cpuMs). */
  readonly clusterCores: number;
  /** Share of the step the primary's funnel spent in transactions (1 = it committed back to back). */
  readonly funnelBusy: number;
  /** Events sent but not committed when the step ended. */
  readonly endLag: number;
  /** The funnel held a shard back (back-pressure) at some sample. */
  readonly pushedBack: boolean;
  readonly maxQueuedRows: number;
  readonly sustained: boolean;
  /** The primary's trail grew from the step's second quarter to its last. */
  readonly growing: boolean;
  /**
   * Shards that connected again during the step (resumed, or identified with a new session):
   * an overloaded node missed its heartbeats to the primary and its shards failed over, or a
   * shard missed Discord's. Such a step did not hold, whatever else it shows.
   */
  readonly resumes: number;
  readonly identifies: number;
  /** ms from the simulator's send of an event to its seq being readable on each node that does not run its shard. */
  readonly stalenessMs: number[];
}

export interface StepOptions {
  readonly seconds: number;
  readonly owners: Map<number, string>;
  /** Poll every node but the owner for each shard's committed seq, every this many ms. */
  readonly stalenessPollMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SESSIONS_SQL = 'SELECT shard_id, session_id, seq FROM shard_sessions';

async function primaryOf(target: CapacityTarget): Promise<{ node: string; status: HostStatus }> {
  for (const node of target.nodes) {
    const status = await target.status(node);
    if (status.funnel) return { node, status };
  }
  throw new Error('no node reports a write funnel (no primary)');
}

async function committedSeqs(target: CapacityTarget, node: string): Promise<Map<number, { sessionId: string; seq: number }>> {
  const rows = await target.query(node, SESSIONS_SQL);
  return new Map(rows.map((r) => [Number(r[0]), { sessionId: String(r[1]), seq: Number(r[2]) }]));
}

/** Events each shard's live session has sequenced (the simulator's count). */
function sentSeqs(target: CapacityTarget, shards: number): number[] {
  return Array.from({ length: shards }, (_, s) => target.discord.ledger.eventCount(s));
}

const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);

/** Events of each shard's newest session that the primary has not committed, summed. */
function trail(target: CapacityTarget, committed: Map<number, { sessionId: string; seq: number }>, shards: number): number {
  return sum(
    Array.from({ length: shards }, (_, s) => {
      const latest = target.discord.ledger.latestSession(s);
      const c = committed.get(s);
      return (latest?.count ?? 0) - (c && c.sessionId === latest?.sessionId ? c.seq : 0);
    }),
  );
}

async function handledTotal(target: CapacityTarget): Promise<number> {
  const statuses = await Promise.all(target.nodes.map((n) => target.status(n)));
  return sum(statuses.flatMap((s) => s.shards.map((r) => r.events)));
}

/**
 * Waits until the primary has committed everything sent (the step before must not leak into the
 * next): each shard's committed session is its newest one on the simulator, at that session's
 * last seq. (A shard that identified again during a step has a new session whose seqs start
 * over; the shard's events summed over its sessions would never be reached.)
 */
export async function drain(target: CapacityTarget, shards: number, timeoutMs = 120_000): Promise<void> {
  const { node } = await primaryOf(target);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = await committedSeqs(target, node);
    const behind: string[] = [];
    for (let s = 0; s < shards; s++) {
      const latest = target.discord.ledger.latestSession(s);
      const c = committed.get(s);
      if (latest && (c?.sessionId !== latest.sessionId || c.seq < latest.count)) behind.push(`shard ${s} ${c ? `${c.sessionId.slice(0, 8)}@${c.seq}` : 'none'} of ${latest.sessionId.slice(0, 8)}@${latest.count}`);
    }
    if (behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`the cluster did not catch up within ${timeoutMs} ms: committed of sent: ${behind.join(', ')}`);
    await sleep(100);
  }
}

export async function runStep(target: CapacityTarget, rate: number, o: StepOptions): Promise<StepResult> {
  const shards = o.owners.size;
  const total = Math.round(rate * o.seconds);
  // Chunks small enough that a 10 ms tick plays about one.
  const chunk = Math.max(10, Math.round(rate / 100));
  const prepared = target.discord.replay.prepare(total, chunk);
  if (prepared < total) throw new Error(`the simulator prepared ${prepared} of ${total} events`);

  const stats0 = target.discord.stats;
  const { node: primary, status: before } = await primaryOf(target);
  const committed0 = await committedSeqs(target, primary);
  const sent0 = sentSeqs(target, shards);
  const handled0 = await handledTotal(target);
  let pushedBack = false;
  let maxQueuedRows = 0;

  // Staleness: which seq each other node could read, and when.
  const seen: { node: string; shard: number; sessionId: string; from: number; to: number; at: number }[] = [];
  let polling = o.stalenessPollMs !== undefined;
  const pollers = polling
    ? target.nodes.map(async (node) => {
        const last = new Map<number, number>();
        for (const [s, c] of await committedSeqs(target, node)) last.set(s, c.seq);
        while (polling) {
          const now = Date.now();
          // A poll that failed (the node's query slot busy for seconds) is skipped; the next one sees the same seqs later.
          const seqs = await committedSeqs(target, node).catch(() => new Map<number, { sessionId: string; seq: number }>());
          for (const [shard, c] of seqs) {
            if (o.owners.get(shard) === node) continue;
            const prev = last.get(shard) ?? 0;
            if (c.seq > prev) seen.push({ node, shard, sessionId: c.sessionId, from: prev + 1, to: c.seq, at: now });
            last.set(shard, c.seq);
          }
          await sleep(o.stalenessPollMs!);
        }
      })
    : [];

  // Back-pressure, queue depth and how far the primary trails, sampled while the step runs.
  let sampling = true;
  const lags: { at: number; lag: number }[] = [];
  const sampler = (async () => {
    while (sampling) {
      const funnel = (await target.status(primary)).funnel;
      if (funnel) {
        if (funnel.blockedEnqueues > 0) pushedBack = true;
        maxQueuedRows = Math.max(maxQueuedRows, funnel.queuedRows);
      }
      lags.push({ at: performance.now(), lag: trail(target, await committedSeqs(target, primary), shards) });
      await sleep(250);
    }
  })();

  const cpu0 = target.cpuMs();
  const t0 = performance.now();
  let played = 0;
  while (played < total) {
    const due = Math.min(total, Math.floor((rate * (performance.now() - t0)) / 1000));
    while (played + chunk <= due || (due === total && played < total)) {
      const n = target.discord.replay.play(Math.max(1, due - played));
      if (n === 0) break;
      played += n;
    }
    await sleep(5);
  }
  const elapsedS = (performance.now() - t0) / 1000;
  const clusterCores = (target.cpuMs() - cpu0) / 1000 / elapsedS;
  const committed1 = await committedSeqs(target, primary);
  const sent1 = sentSeqs(target, shards);
  const handled1 = await handledTotal(target);
  const after = (await target.status(primary)).funnel!;
  sampling = false;
  await sampler;
  // A little longer for the pollers, so events committed near the end are seen on the other nodes.
  if (polling) await sleep(1_000);
  polling = false;
  await Promise.all(pollers);

  const stats1 = target.discord.stats;
  const resumes = stats1.resumes - stats0.resumes;
  const identifies = stats1.identifies - stats0.identifies;
  const sentDuring = sum(sent1) - sum(sent0);
  // A shard on a new session counts only that session's seqs: a lower bound (how much of its
  // old session was committed is not in the table any more).
  const committedDuring = sum(
    Array.from({ length: shards }, (_, s) => {
      const [c0, c1] = [committed0.get(s), committed1.get(s)];
      return (c1?.seq ?? 0) - (c0 && c0.sessionId === c1?.sessionId ? c0.seq : 0);
    }),
  );
  const endLag = trail(target, committed1, shards);
  const b = before.funnel!;
  // Held: no shard was held back, the primary committed at least 90% of what was sent during
  // the step and trails by at most a second of traffic at its end, and the trail did not grow
  // over the step's second half (it holds what the flush interval, forwarding and a commit
  // take in any case; falling behind makes it grow all along).
  const during = lags.filter((l) => l.at <= t0 + elapsedS * 1000);
  const half = (from: number, to: number): number => {
    const part = during.filter((l) => l.at >= t0 + from * elapsedS * 1000 && l.at < t0 + to * elapsedS * 1000);
    return part.length === 0 ? 0 : sum(part.map((l) => l.lag)) / part.length;
  };
  const growing = half(0.75, 1.01) > 1.5 * half(0.25, 0.5) + rate * 0.1;
  const sustained = resumes === 0 && identifies === 0 && !pushedBack && !growing && committedDuring >= 0.9 * sentDuring && endLag <= Math.max(200, rate);

  return {
    rate,
    seconds: elapsedS,
    sent: sentDuring,
    handledPerSec: (handled1 - handled0) / elapsedS,
    committedPerSec: committedDuring / elapsedS,
    rowsPerSec: (after.committedRows - b.committedRows) / elapsedS,
    txPerSec: (after.transactions - b.transactions) / elapsedS,
    clusterCores,
    funnelBusy: (after.totalFlushMs - b.totalFlushMs) / 1000 / elapsedS,
    endLag,
    pushedBack,
    maxQueuedRows,
    sustained,
    growing,
    resumes,
    identifies,
    stalenessMs: stalenessOf(target, seen),
  };
}

/** Per event that became readable on a node: when it did, minus when the simulator sent it. */
function stalenessOf(target: CapacityTarget, seen: readonly { node: string; shard: number; sessionId: string; from: number; to: number; at: number }[]): number[] {
  const sentAt = new Map<string, Float64Array>();
  const times = (shard: number, sessionId: string): Float64Array => {
    const key = `${shard}/${sessionId}`;
    let t = sentAt.get(key);
    if (!t) {
      const events = target.discord.ledger.events(shard).filter((e) => e.sessionId === sessionId);
      t = new Float64Array(events.length + 1);
      for (const e of events) t[e.seq] = e.t;
      sentAt.set(key, t);
    }
    return t;
  };
  const out: number[] = [];
  for (const s of seen) {
    const t = times(s.shard, s.sessionId);
    for (let seq = s.from; seq <= s.to && seq < t.length; seq++) out.push(s.at - t[seq]!);
  }
  return out;
}

/**
 * Turns one scheduled fault into actions on the soak cluster: picks its target among the nodes
 * or shards of the moment, applies it, records it, and (for faults that last) undoes it after
 * its duration in the background. The checkers learn from here which sessions the server ended
 * on purpose and which nodes were disrupted.
 */
import { closePolicy } from '../../src/core/close-codes.ts';
import { SESSION_ENDING_SERVER_CODES } from '../../src/discord-sim/sim-close-codes.ts';
import { sleep } from '../../src/core/abort.ts';
import type { FaultLog, AppliedFault } from './fault-log.ts';
import { SOAK_CLOSE_CODES, type Step } from './schedule.ts';
import type { SoakCluster, SoakNode } from './soak-cluster.ts';

export interface FaultApplierOptions {
  readonly cluster: SoakCluster;
  readonly log: FaultLog;
  readonly shardCount: number;
  readonly signal: AbortSignal;
  /** The server ended (or the table gives up) these sessions now. */
  readonly sessionsEnded: (sessionIds: readonly string[]) => void;
  /** A node's database was replaced by a snapshot as it restarted. */
  readonly restored: (nodeId: string) => void;
  /** A background part of a fault failed (a restart that did not come up): the run stops. */
  readonly fail: (error: Error) => void;
  /** Longest a leave may take before it detaches what is left (SHARDLINE_LEAVE_TIMEOUT_MS's role). */
  readonly leaveTimeoutMs: number;
}

/** Nodes that may be down at once: a kill or leave is skipped while this many are down or going. */
function maxDown(nodes: number): number {
  return Math.max(1, nodes - 2);
}

export class FaultApplier {
  readonly #o: FaultApplierOptions;
  readonly #background = new Set<Promise<void>>();
  /** Nodes being drained by a fault, so undrain and drain do not pile up on one node. */
  readonly #draining = new Set<string>();

  constructor(options: FaultApplierOptions) {
    this.#o = options;
  }

  /** Resolves once every fault's background part (heals, restarts, undrains) is done. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  apply(step: Step): AppliedFault {
    const c = this.#o.cluster;
    const up = c.up().sort((a, b) => a.id.localeCompare(b.id));
    const primary = c.litefsPrimary();
    const replicas = up.filter((n) => n !== primary);
    const pickOf = <T>(items: readonly T[], pick = step.pick): T | undefined => (items.length === 0 ? undefined : items[pick % items.length]);
    const skip = (why: string): AppliedFault => this.#o.log.record(step, why, { skipped: true });
    const shard = step.pick % this.#o.shardCount;
    const liveSessions = (): string[] => c.discord.connections(shard).filter((x) => x.open && x.sessionId !== null).map((x) => x.sessionId!);
    const downOrGoing = c.nodes.filter((n) => n.state !== 'up').length;

    switch (step.kind) {
      case 'killReplica':
      case 'killPrimary': {
        const node = step.kind === 'killPrimary' ? (primary && primary.state === 'up' ? primary : undefined) : pickOf(replicas);
        if (!node) return skip(step.kind === 'killPrimary' ? 'no primary is up' : 'no replica is up');
        if (downOrGoing >= maxDown(c.nodes.length)) return skip(`${downOrGoing} node(s) already down`);
        const fault = this.#o.log.record(step, node.id);
        const disruption = this.#o.log.disrupt(node.id, 'kill');
        this.#run(fault, async () => {
          await c.kill(node.id);
          await sleep(step.durationMs, this.#o.signal);
          await this.#restart(node);
          disruption.end();
        });
        return fault;
      }
      case 'leave': {
        const node = pickOf(up);
        if (!node) return skip('no node is up');
        if (downOrGoing >= maxDown(c.nodes.length)) return skip(`${downOrGoing} node(s) already down`);
        const fault = this.#o.log.record(step, node.id);
        this.#run(fault, async () => {
          const report = await c.leave(node.id, this.#o.leaveTimeoutMs);
          fault.outcome = `left: ${report.outcome} in ${report.tookMs} ms, ${report.leftover} shard(s) detached at the deadline`;
          await sleep(step.durationMs, this.#o.signal);
          await this.#restart(node);
        });
        return fault;
      }
      case 'takeover': {
        const node = pickOf(replicas);
        if (!node) return skip('no replica is up');
        const fault = this.#o.log.record(step, node.id);
        this.#run(fault, async () => {
          const answer = await c.admin(node.id, 'POST', '/takeover', { timeoutMs: 10_000 });
          fault.outcome = `${answer.status} ${JSON.stringify(answer.json).slice(0, 160)}`;
        });
        return fault;
      }
      case 'move': {
        const to = pickOf(up, step.pick2);
        const via = primary?.state === 'up' ? primary : pickOf(up);
        if (!to || !via) return skip('no node is up');
        const fault = this.#o.log.record(step, `shard ${shard} to ${to.id}`);
        this.#run(fault, async () => {
          const answer = await c.admin(via.id, 'POST', `/shards/${shard}/move`, { to: to.id });
          fault.outcome = `${answer.status} ${JSON.stringify(answer.json).slice(0, 160)}`;
        });
        return fault;
      }
      case 'drain': {
        const candidates = up.filter((n) => !this.#draining.has(n.id));
        const node = pickOf(candidates);
        if (!node || this.#draining.size >= c.nodes.length - 2) return skip('enough nodes are draining');
        this.#draining.add(node.id);
        const fault = this.#o.log.record(step, node.id);
        this.#run(fault, async () => {
          try {
            const via = (): SoakNode | undefined => c.litefsPrimary() ?? c.up()[0];
            const drained = await c.admin(via()?.id ?? node.id, 'POST', `/nodes/${node.id}/drain`, { waitMs: 0 });
            fault.outcome = `drain ${drained.status}`;
            await sleep(step.durationMs, this.#o.signal);
            // Undrain until some node answers: the primary may be moving meanwhile.
            for (let attempt = 0; attempt < 20; attempt++) {
              const answer = await c.admin(via()?.id ?? node.id, 'POST', `/nodes/${node.id}/undrain`, {});
              fault.outcome += `, undrain ${answer.status}`;
              if (answer.status === 200) break;
              await sleep(500, this.#o.signal);
            }
          } finally {
            this.#draining.delete(node.id);
          }
        });
        return fault;
      }
      case 'cutApi':
      case 'cutLiteFs': {
        const node = pickOf(up);
        if (!node) return skip('no node is up');
        const fault = this.#o.log.record(step, `${node.id}${node === primary ? ' (primary)' : ''}`);
        // Cutting the primary's internal API cuts every node's heartbeats to it: the primary
        // declares them dead in turn (contract 7), so each of them is disrupted, not only the one cut.
        const cutOff = step.kind === 'cutApi' && node === primary ? up : [node];
        const disruptions = cutOff.map((n) => this.#o.log.disrupt(n.id, step.kind as 'cutApi' | 'cutLiteFs'));
        const cut = (on: boolean): void => (step.kind === 'cutApi' ? c.cutApi(node.id, on) : c.cutLiteFs(node.id, on));
        cut(true);
        this.#run(fault, async () => {
          try {
            await sleep(step.durationMs, this.#o.signal);
          } finally {
            cut(false);
            for (const d of disruptions) d.end();
          }
        });
        return fault;
      }
      case 'stall': {
        const node = pickOf(up);
        if (!node) return skip('no node is up');
        const fault = this.#o.log.record(step, `${node.id}${node === primary ? ' (primary)' : ''}`);
        const disruption = this.#o.log.disrupt(node.id, 'stall');
        c.stall(node.id, step.durationMs);
        this.#run(fault, async () => {
          await sleep(step.durationMs, this.#o.signal).finally(() => disruption.end());
        });
        return fault;
      }
      case 'diskSlow':
      case 'diskFull': {
        if (!primary || primary.state !== 'up') return skip('no primary is up');
        const fault = this.#o.log.record(step, primary.id);
        const slowMs = 20 + (step.pick2 % 280);
        c.disk(primary.id, step.kind === 'diskSlow' ? 'slow' : 'full', slowMs);
        if (step.kind === 'diskSlow') fault.outcome = `${slowMs} ms per commit`;
        this.#run(fault, async () => {
          try {
            await sleep(step.durationMs, this.#o.signal);
          } finally {
            c.disk(primary.id, 'fine');
          }
        });
        return fault;
      }
      case 'op7':
        return this.#gateway(step, shard, () => c.discord.faults.reconnect(shard));
      case 'op9Resumable':
        return this.#gateway(step, shard, () => c.discord.faults.invalidSession(shard, true));
      case 'op9Fresh':
        return this.#gateway(step, shard, () => {
          this.#o.sessionsEnded(liveSessions());
          return c.discord.faults.invalidSession(shard, false);
        });
      case 'dropTcp':
        return this.#gateway(step, shard, () => c.discord.faults.dropTcp(shard));
      case 'closeCode': {
        const code = SOAK_CLOSE_CODES[step.pick2 % SOAK_CLOSE_CODES.length]!;
        return this.#gateway(step, shard, () => {
          // The server ends the session, or the client's table gives it up: its unhandled events are gone.
          if (SESSION_ENDING_SERVER_CODES.has(code) || closePolicy(code).action === 'identify') this.#o.sessionsEnded(liveSessions());
          return c.discord.faults.close(shard, code, 'soak');
        }, `code ${code}`);
      }
      case 'garbage': {
        const raw = step.pick2 % 2 === 0;
        return this.#gateway(step, shard, () =>
          raw ? c.discord.faults.sendRaw(shard, new Uint8Array([0x78, 0x9c, step.pick2 & 0xff, 0xff, 0x00, 0x13, 0x37])) : c.discord.faults.sendFrame(shard, `{"op":0,"t":"MESSAGE_CREATE","s":${step.pick2 % 1000},"d":{"id":`),
        raw ? 'bad zlib bytes' : 'truncated JSON');
      }
      case 'withholdAcks': {
        const fault = this.#o.log.record(step, `shard ${shard}`);
        c.discord.faults.withholdAcks(shard, true);
        this.#run(fault, async () => {
          try {
            await sleep(step.durationMs, this.#o.signal);
          } finally {
            c.discord.faults.withholdAcks(shard, false);
          }
        });
        return fault;
      }
    }
  }

  #gateway(step: Step, shard: number, act: () => number, detail = ''): AppliedFault {
    const connections = act();
    const fault = this.#o.log.record(step, `shard ${shard}${detail ? ` ${detail}` : ''}`);
    fault.outcome = `${connections} connection(s)`;
    fault.endedAt = fault.at;
    return fault;
  }

  async #restart(node: SoakNode): Promise<void> {
    const restored = node.killedAsPrimary;
    await this.#o.cluster.startNode(node.id);
    if (restored) this.#o.restored(node.id);
  }

  #run(fault: AppliedFault, body: () => Promise<void>): void {
    const task = body().then(
      () => void (fault.endedAt = Date.now()),
      (error: unknown) => {
        fault.endedAt = Date.now();
        if (this.#o.signal.aborted) return;
        fault.outcome += ` failed: ${(error as Error).message}`;
        this.#o.fail(new Error(`fault #${fault.step.n} (${fault.step.kind} on ${fault.target}) failed: ${(error as Error).message}`));
      },
    );
    this.#background.add(task);
    void task.finally(() => this.#background.delete(task));
  }
}

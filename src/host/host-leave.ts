import { readAssignments, readNodes } from '../cluster/cluster-tables.ts';
import type { NodeAgent } from '../cluster/node-agent.ts';
import type { PrimaryRole } from '../cluster/primary-role.ts';
import type { RoutingWriter } from '../cluster/routing-writer.ts';
import { anySignal } from '../core/abort.ts';
import type { Leadership } from '../core/leadership.ts';
import type { Logger } from '../core/ports.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import { GracefulLeave, type LeaveProgress, type LeaveReport } from './graceful-leave.ts';
import { stopRunners } from './stop-runners.ts';

/** The host's parts a leave works with. */
export interface HostLeaveParts {
  readonly nodeId: string;
  readonly nodeTimeoutMs: number;
  readonly logger: Logger;
  readonly embedded: boolean;
  readonly leadership: Leadership;
  readonly agent: NodeAgent;
  readonly writer: RoutingWriter;
  primary(): PrimaryRole | null;
  readDb(): SqliteDriver | null;
  /** `nodeId` took the lease: send writes and heartbeats there until LiteFS names the primary. */
  followSuccessor(nodeId: string): void;
  /** POST /internal/takeover on `nodeId`: it takes the lease and answers once its coordinator runs. */
  takeover(nodeId: string, timeoutMs: number): Promise<unknown>;
}

export interface HostLeave {
  readonly progress: LeaveProgress | null;
  run(options: { timeoutMs: number; signal?: AbortSignal }): Promise<LeaveReport>;
  /** The host is closing under the leave: stop waiting. */
  interrupt(): void;
}

/** One node's graceful leave, built from the host's parts (src/host/graceful-leave.ts does the leaving). */
export function leaveFor(parts: HostLeaveParts): HostLeave {
  const interrupted = new AbortController();
  const leave = new GracefulLeave({
    nodeId: parts.nodeId,
    logger: parts.logger,
    embedded: parts.embedded,
    isPrimary: () => parts.primary() !== null,
    liveNodes: () => liveNodes(parts),
    takeover: async (nodeId, timeoutMs) => {
      await parts.takeover(nodeId, timeoutMs);
      parts.followSuccessor(nodeId);
    },
    markLeaving: () => parts.agent.leave(),
    heartbeat: () => parts.agent.heartbeat(),
    runningShards: () => parts.agent.runners.size,
    ownedShards: () => ownedShards(parts),
    stopShards: async () => {
      parts.agent.stop();
      const runners = [...parts.agent.runners.values()];
      // Detached here once, so the host's close finds nothing left to detach.
      parts.agent.runners.clear();
      await stopRunners(runners, true, parts.writer, parts.logger);
    },
    announceLeft: () => parts.agent.announceLeft(),
  });
  return {
    get progress() {
      return leave.progress;
    },
    run: (options) => leave.run({ timeoutMs: options.timeoutMs, signal: anySignal([options.signal, interrupted.signal]) }),
    interrupt: () => interrupted.abort(),
  };
}

/** Assignments naming this node in its own replica (0 when it cannot read them: the wait ends on running shards then). */
function ownedShards(parts: HostLeaveParts): number {
  const db = parts.readDb();
  if (!db) return 0;
  try {
    let owned = 0;
    for (const row of readAssignments(db).values()) if (row.nodeId === parts.nodeId) owned++;
    return owned;
  } catch {
    return 0;
  }
}

/**
 * Nodes that would take shards now. The primary knows from heartbeats; a replica reads the
 * nodes table (the primary writes each node's last heartbeat about every second) and counts
 * the primary LiteFS names as live too.
 */
function liveNodes(parts: HostLeaveParts): string[] {
  const role = parts.primary();
  if (role?.running) return role.coordinator.liveNodes();
  const live = new Set<string>();
  const primary = parts.leadership.current().primary;
  if (primary) live.add(primary);
  const db = parts.readDb();
  if (db) {
    const now = Date.now();
    for (const node of readNodes(db)) if (!node.draining && now - node.lastHeartbeatAt < parts.nodeTimeoutMs) live.add(node.id);
  }
  return [...live];
}

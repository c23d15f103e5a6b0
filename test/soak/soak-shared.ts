/**
 * What the soak's parent and its node threads share: the layout of the shared memory through
 * which faults act at once (partitions, disk), the blocking commit call into the simulated
 * LiteFS, and the messages both ways.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ReplicatedOp } from '../../src/litefs-sim/replicated-driver.ts';

/** Node slots in the shared fault table. */
export const MAX_NODES = 8;

/** Cluster-wide fault table (Int32Array over one SharedArrayBuffer), one entry per node slot. */
export const FAULTS = {
  /** 1 while the node is cut off from the other nodes' HTTP (both ways). */
  apiCut: 0,
  /** The node's HTTP port while it runs (0: down), so a cut can be told by the URL. */
  port: MAX_NODES,
  /** Disk of the node: 0 fine, 1 slow (each commit waits diskSlowMs), 2 full (each commit fails SQLITE_FULL). */
  disk: 2 * MAX_NODES,
  diskSlowMs: 3 * MAX_NODES,
  /** 1 once the node is killed: a stalled thread checks it while it spins. */
  kill: 4 * MAX_NODES,
  length: 5 * MAX_NODES,
} as const;

export const DISK = { fine: 0, slow: 1, full: 2 } as const;

/** Per node thread: the blocking commit call (Int32Array over its own SharedArrayBuffer). */
export const CALL = {
  /** 0 while waiting; 1 committed; 2 refused (the node is not writable: not the LiteFS primary); 3 killed. */
  state: 0,
  length: 2,
} as const;

export const CALL_STATE = { waiting: 0, ok: 1, refused: 2, killed: 3 } as const;

/** The exit code of a node thread that was killed (128 + SIGKILL's 9, as a shell reports kill -9). */
export const KILLED_EXIT_CODE = 137;

export interface WorkerInit {
  readonly slot: number;
  readonly nodeId: string;
  readonly env: Readonly<Record<string, string>>;
  readonly faults: SharedArrayBuffer;
  readonly call: SharedArrayBuffer;
  /** The thread posts its commits here; the parent answers through `call`. */
  readonly commits: MessagePort;
  readonly logPath: string;
  readonly timing: { heartbeatMs: number; reconcileMs: number; tickMs: number; settleMs: number };
}

/** To the simulated LiteFS: may this node write now (ops null, before BEGIN), or commit these ops. */
export interface CommitRequest {
  readonly ops: readonly ReplicatedOp[] | null;
}

/** Parent to node thread. */
export type ToWorker =
  | { readonly type: 'stall'; readonly ms: number }
  | { readonly type: 'leave'; readonly timeoutMs: number }
  | { readonly type: 'close' }
  /** kill -9: the thread exits at once (from the message, or from its stall loop or blocking commit call). */
  | { readonly type: 'kill' };

/** Node thread to parent. */
export type FromWorker =
  | { readonly type: 'started'; readonly url: string }
  | { readonly type: 'start-failed'; readonly message: string }
  /** One sequenced dispatch the bot handled: [shardId, sessionId, seq, t, at]. */
  | { readonly type: 'handled'; readonly r: readonly [number, string, number, string, number] }
  | { readonly type: 'shard-ready'; readonly shardId: number; readonly sessionId: string; readonly resumed: boolean; readonly at: number }
  | { readonly type: 'left'; readonly outcome: string; readonly tookMs: number; readonly leftover: number }
  | { readonly type: 'closed' }
  | { readonly type: 'stalled'; readonly ms: number };

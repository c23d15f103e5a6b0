import type { IdentifyBudget, SessionStartLimit } from '../core/identify-budget.ts';
import type { PlacementNode } from '../core/placement.ts';
import type { Clock, Logger } from '../core/ports.ts';
import type { SwitchGroup } from '../core/reshard-plan.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { AssignmentRow } from './cluster-tables.ts';
import type { ReshardCommands, ReshardTrigger } from './reshard-protocol.ts';

/** The Resharder's boundaries: what it needs of its coordinator and host, and its own state's shape. */

/** What the Resharder needs of the Coordinator that owns it (the active set and the nodes). */
export interface ReshardCoordinatorPort {
  running(): boolean;
  active(): { readonly generation: number; readonly shardCount: number };
  activeRows(): ReadonlyMap<number, AssignmentRow>;
  placementNodes(): PlacementNode[];
  nodeStatus(nodeId: string): 'unknown' | 'dead' | 'left' | 'leaving' | 'draining' | 'alive';
  /** Keeps moves away from old shards while their range switches. */
  hold(shardIds: readonly number[], on: boolean): void;
  isMoving(shardId: number): boolean;
  /** Old rows committed as retired. */
  retired(rows: readonly AssignmentRow[]): void;
  /** The new set is the active one now. */
  promote(generation: number, shardCount: number, rows: ReadonlyMap<number, AssignmentRow>): void;
  assignmentsChanged(): void;
}

/** Discord's figures, fresh from GET /gateway/bot. */
export interface GatewayFigures {
  readonly shards: number;
  readonly sessionStartLimit: SessionStartLimit;
}

export interface ReshardSettings {
  /** Large bots must run a multiple of the number Discord gave them. Default 1. */
  readonly shardMultiple?: number;
  /** Reshard by itself once the recommended count reaches this multiple of the current one; 0 never. Default 2. */
  readonly threshold?: number;
  /** How often the primary asks for the recommended count; 0 never. Default 1 h. */
  readonly checkMs?: number;
  /** Reshard by itself when Discord closes a shard with 4011. Default true. */
  readonly on4011?: boolean;
}

/** What the host gives the coordinator for resharding; without it a reshard is refused. */
export interface ResharderDeps {
  readonly commands?: ReshardCommands;
  readonly gatewayBot?: () => Promise<GatewayFigures>;
  readonly budget?: () => IdentifyBudget | null;
  readonly settings?: ReshardSettings;
}

export interface ResharderOptions extends ResharderDeps {
  readonly db: SqliteDriver;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly exclusive: <T>(write: () => T) => Promise<T>;
  readonly port: ReshardCoordinatorPort;
}

/** What a node last said of a shard of the new set. */
export interface ShardReport {
  readonly nodeId: string;
  readonly epoch: number;
  readonly status: string;
  readonly caughtUp: boolean;
  readonly closeCode: number | null;
  readonly mode: 'live' | 'shadow' | null;
}


export interface Pending {
  readonly generation: number;
  readonly shardCount: number;
  readonly from: { readonly generation: number; readonly shardCount: number };
  readonly trigger: string;
  readonly startedAt: number;
  readonly groups: readonly SwitchGroup[];
  readonly rows: Map<number, AssignmentRow>;
  readonly switched: Set<number>;
  /** Every node tracks handled keys (asked in this primary's life). */
  prepared: boolean;
  /** When this primary last sent a group's take-overs. */
  readonly tookOver: Map<number, number>;
}

export interface StartReshard {
  readonly shardCount: number | 'auto';
  readonly trigger: ReshardTrigger;
}

export interface ReshardStarted {
  readonly generation: number;
  readonly from: number;
  readonly to: number;
  readonly trigger: string;
  /** Switch groups: the old set's shards hand over in this many steps. */
  readonly groups: number;
}

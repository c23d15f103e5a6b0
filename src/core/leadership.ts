/**
 * Who is primary (contract 1). The authority is LiteFS's HTTP API on the local node; the
 * embedded single node is always primary. Everything that writes or assigns shards asks
 * this port first and stops the moment it says the role is gone.
 */
export interface LeaderState {
  /** False while the role is unknown (LiteFS unreachable, events stream reconnecting). */
  readonly known: boolean;
  readonly isPrimary: boolean;
  /** The primary's lease hostname (this node's own when primary); null when none is known. */
  readonly primary: string | null;
}

export const UNKNOWN_LEADER: LeaderState = Object.freeze({ known: false, isPrimary: false, primary: null });

export interface PromoteResult {
  /** Milliseconds from the request to this node seeing itself primary. */
  readonly tookMs: number;
  /** True when the node already was primary and nothing was asked of LiteFS. */
  readonly alreadyPrimary: boolean;
}

export interface Leadership {
  /** Begins following the role; resolves once it is known for the first time. */
  start(signal?: AbortSignal): Promise<void>;
  current(): LeaderState;
  /** Called on every change of `current()`; returns the unsubscribe function. */
  subscribe(listener: (state: LeaderState) => void): () => void;
  /**
   * Makes this node the primary and resolves once it is (bounded by `timeoutMs`).
   * Errors: CONFLICT when this node is not a candidate, NO_PRIMARY when there is no
   * connected primary to hand over from, TIMEOUT when the role did not arrive in time.
   */
  promote(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<PromoteResult>;
  close(): Promise<void>;
}

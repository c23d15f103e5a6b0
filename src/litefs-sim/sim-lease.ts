/**
 * The lease of a simulated LiteFS cluster, standing in for Consul: one holder at a time,
 * renewed by the living primary, expiring `ttlMs` after the last renewal, blocked for
 * `lockDelayMs` after an expiry (Consul's lock-delay), and handed over on promote.
 * Pure state machine driven by the cluster's clock ticks.
 */
export interface LeaseState {
  readonly holder: string | null;
  readonly expiresAt: number;
  readonly blockedUntil: number;
}

export interface LeaseCandidate {
  readonly hostname: string;
  readonly alive: boolean;
  readonly candidate: boolean;
}

export class SimLease {
  #holder: string | null = null;
  #expiresAt = 0;
  #blockedUntil = 0;
  readonly #ttlMs: number;
  readonly #lockDelayMs: number;

  constructor(options: { ttlMs: number; lockDelayMs: number }) {
    this.#ttlMs = options.ttlMs;
    this.#lockDelayMs = options.lockDelayMs;
  }

  get state(): LeaseState {
    return { holder: this.#holder, expiresAt: this.#expiresAt, blockedUntil: this.#blockedUntil };
  }

  /** Advances time: the holder renews if alive, an expired lease frees, and a candidate acquires it. */
  tick(now: number, nodes: readonly LeaseCandidate[]): void {
    const holder = this.#holder === null ? undefined : nodes.find((n) => n.hostname === this.#holder);
    if (holder?.alive) {
      this.#expiresAt = now + this.#ttlMs;
      return;
    }
    if (this.#holder !== null && now >= this.#expiresAt) {
      this.#holder = null;
      this.#blockedUntil = this.#expiresAt + this.#lockDelayMs;
    }
    if (this.#holder === null && now >= this.#blockedUntil) {
      const next = nodes.find((n) => n.alive && n.candidate);
      if (next) {
        this.#holder = next.hostname;
        this.#expiresAt = now + this.#ttlMs;
      }
    }
  }

  /** A graceful shutdown of the holder releases the key at once (no TTL wait, no lock-delay). */
  release(hostname: string): void {
    if (this.#holder === hostname) {
      this.#holder = null;
      this.#blockedUntil = 0;
    }
  }

  /** Handoff to `hostname` (LiteFS `/promote`): the session moves without expiring. */
  handoff(hostname: string, now: number): void {
    this.#holder = hostname;
    this.#expiresAt = now + this.#ttlMs;
  }
}

import { randomBytes } from 'node:crypto';
import { Session } from './session.ts';
import type { Ledger } from './ledger.ts';

export interface SessionRegistryOptions {
  sessionTtlMs: number;
  replayBufferSize: number;
  ledger: Ledger;
  now: () => number;
}

/**
 * The live and resumable sessions. Expiry is lazy (checked when a session is looked up or
 * routed to), so the registry needs no timers.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #options: SessionRegistryOptions;
  #list: Session[] | null = null;

  constructor(options: SessionRegistryOptions) {
    this.#options = options;
  }

  create(shardId: number, shardCount: number, intents: number): Session {
    const session = new Session({
      id: randomBytes(16).toString('hex'),
      shardId,
      shardCount,
      intents,
      replayBufferSize: this.#options.replayBufferSize,
      ledger: this.#options.ledger,
    });
    this.#sessions.set(session.id, session);
    this.#list = null;
    return session;
  }

  /** The session if it exists and has not expired. */
  get(sessionId: string): Session | undefined {
    const session = this.#sessions.get(sessionId);
    if (!session) return undefined;
    if (this.#expired(session)) {
      this.delete(session.id);
      return undefined;
    }
    return session;
  }

  delete(sessionId: string): void {
    const session = this.#sessions.get(sessionId);
    if (!session) return;
    session.sink = null;
    this.#sessions.delete(sessionId);
    this.#list = null;
  }

  /** Unexpired sessions (attached or resumable); expired ones are dropped on the way. */
  all(): readonly Session[] {
    if (this.#list === null) this.#list = [...this.#sessions.values()];
    if (this.#list.some((s) => this.#expired(s))) {
      for (const s of this.#list) if (this.#expired(s)) this.#sessions.delete(s.id);
      this.#list = [...this.#sessions.values()];
    }
    return this.#list;
  }

  clear(): void {
    for (const session of this.#sessions.values()) session.sink = null;
    this.#sessions.clear();
    this.#list = null;
  }

  #expired(session: Session): boolean {
    return session.disconnectedAt !== null && this.#options.now() - session.disconnectedAt > this.#options.sessionTtlMs;
  }
}

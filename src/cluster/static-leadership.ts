import type { LeaderState, Leadership, PromoteResult } from '../core/leadership.ts';

/** The embedded single node: always primary, nothing to follow, nothing to promote. */
export class StaticLeadership implements Leadership {
  readonly #state: LeaderState;

  constructor(hostname: string) {
    this.#state = Object.freeze({ known: true, isPrimary: true, primary: hostname });
  }

  async start(): Promise<void> {}

  current(): LeaderState {
    return this.#state;
  }

  subscribe(): () => void {
    return () => {};
  }

  async promote(): Promise<PromoteResult> {
    return { tookMs: 0, alreadyPrimary: true };
  }

  async close(): Promise<void> {}
}

import { anySignal, backoffDelay, sleep } from '../core/abort.ts';
import { ShardlineError, isShardlineError } from '../core/errors.ts';
import { UNKNOWN_LEADER, type LeaderState, type Leadership, type PromoteResult } from '../core/leadership.ts';
import type { Logger } from '../core/ports.ts';

export interface LiteFsLeadershipOptions {
  /** The local LiteFS HTTP API, e.g. http://127.0.0.1:20202 */
  readonly url: string;
  /**
   * This node's lease hostname. LiteFS omits the hostname from a primary's own events, so it
   * is learned from `GET /info` when not given.
   */
  readonly hostname?: string;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
  /** First reconnect delay of the events stream; grows with jitter up to 5 s. */
  readonly reconnectDelayMs?: number;
  readonly promoteTimeoutMs?: number;
}

interface LiteFsEvent {
  readonly type: string;
  readonly data?: { readonly isPrimary?: unknown; readonly hostname?: unknown };
}

/**
 * Leadership from LiteFS's own HTTP API: the `GET /events` stream (`init`, then
 * `primaryChange`) keeps the role current and reconnects when it ends; while it is down the
 * role is unknown, so nothing writes or assigns. Takeover is `POST /promote` followed by a
 * bounded wait for `isPrimary`. The `.primary` file is deliberately not used as authority:
 * it is also missing while a replica reconnects.
 */
export class LiteFsLeadership implements Leadership {
  readonly #options: LiteFsLeadershipOptions;
  readonly #fetch: typeof fetch;
  readonly #log: Logger;
  readonly #listeners = new Set<(state: LeaderState) => void>();
  readonly #closing = new AbortController();
  #state: LeaderState = UNKNOWN_LEADER;
  #loop: Promise<void> | null = null;
  #ownHostname: string | null;

  constructor(options: LiteFsLeadershipOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#log = options.logger.child({ component: 'litefs-leadership' });
    this.#ownHostname = options.hostname ?? null;
  }

  current(): LeaderState {
    return this.#state;
  }

  subscribe(listener: (state: LeaderState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async start(signal?: AbortSignal): Promise<void> {
    if (this.#loop === null) this.#loop = this.#follow();
    if (this.#state.known) return;
    await this.#until((state) => state.known, anySignal([signal, this.#closing.signal]));
  }

  async promote(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<PromoteResult> {
    const started = Date.now();
    if (this.#state.isPrimary) return { tookMs: 0, alreadyPrimary: true };
    let response: Response;
    try {
      response = await this.#fetch(`${this.#options.url}/promote`, { method: 'POST', signal: anySignal([options.signal, this.#closing.signal]) });
    } catch (error) {
      throw new ShardlineError('NO_PRIMARY', `Cannot promote: LiteFS at ${this.#options.url} is unreachable (${(error as Error).message})`, { cause: error });
    }
    const text = (await response.text()).trim();
    if (response.status === 409) throw new ShardlineError('CONFLICT', `Cannot promote: this node is not a LiteFS lease candidate (${text || 'not eligible'})`);
    if (!response.ok) throw new ShardlineError('NO_PRIMARY', `Cannot promote: LiteFS answered ${response.status}: ${text || 'no reason given'}`);
    const timeoutMs = options.timeoutMs ?? this.#options.promoteTimeoutMs ?? 15_000;
    const deadline = AbortSignal.timeout(timeoutMs);
    try {
      await this.#until((state) => state.isPrimary, anySignal([options.signal, this.#closing.signal, deadline]));
    } catch (error) {
      if (deadline.aborted && !isShardlineError(error, 'CLOSED')) {
        throw new ShardlineError('TIMEOUT', `LiteFS accepted the promotion but this node was not primary after ${timeoutMs} ms (primary: ${this.#state.primary ?? 'unknown'})`);
      }
      throw error;
    }
    return { tookMs: Date.now() - started, alreadyPrimary: false };
  }

  async close(): Promise<void> {
    this.#closing.abort(new ShardlineError('CLOSED', 'LiteFS leadership closed'));
    this.#listeners.clear();
    await this.#loop?.catch(() => {});
    this.#state = UNKNOWN_LEADER;
  }

  async #follow(): Promise<void> {
    const signal = this.#closing.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        const response = await this.#fetch(`${this.#options.url}/events`, { signal });
        if (!response.ok || !response.body) throw new Error(`GET /events answered ${response.status}`);
        attempt = 0;
        await this.#read(response.body, signal);
        // Deno's fetch ends a cancelled body as done instead of rejecting the read.
        if (signal.aborted) break;
        this.#log.warn('LiteFS events stream ended; role unknown until it reconnects');
      } catch (error) {
        if (signal.aborted) break;
        this.#log.warn({ err: (error as Error).message, url: this.#options.url }, 'LiteFS events stream failed; role unknown until it reconnects');
      }
      this.#set(UNKNOWN_LEADER);
      const delay = Math.max(50, backoffDelay(attempt++, this.#options.reconnectDelayMs ?? 200, 5_000));
      await sleep(delay, signal).catch(() => {});
    }
  }

  /** Only a primary's /info names itself, so this runs when an event says we are primary. */
  async #learnHostname(): Promise<void> {
    try {
      const response = await this.#fetch(`${this.#options.url}/info`, { signal: this.#closing.signal });
      const info = (await response.json()) as { isPrimary?: unknown; primary?: { hostname?: unknown } };
      if (info.isPrimary !== true || typeof info.primary?.hostname !== 'string' || info.primary.hostname === '') return;
      this.#ownHostname = info.primary.hostname;
      if (this.#state.isPrimary && this.#state.primary === null) this.#set({ ...this.#state, primary: this.#ownHostname });
    } catch (error) {
      this.#log.debug({ err: (error as Error).message }, 'could not read own hostname from LiteFS /info');
    }
  }

  async #read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const onAbort = (): void => void reader.cancel().catch(() => {});
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) !== -1) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line !== '') this.#onLine(line);
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  #onLine(line: string): void {
    let event: LiteFsEvent;
    try {
      event = JSON.parse(line) as LiteFsEvent;
    } catch {
      this.#log.warn({ line: line.slice(0, 200) }, 'Ignoring a LiteFS event that is not JSON');
      return;
    }
    if (event.type !== 'init' && event.type !== 'primaryChange') return;
    const isPrimary = event.data?.isPrimary === true;
    const named = typeof event.data?.hostname === 'string' && event.data.hostname !== '' ? event.data.hostname : null;
    const hostname = isPrimary ? (named ?? this.#ownHostname) : named;
    if (isPrimary && hostname === null) void this.#learnHostname();
    // A replica with no hostname is disconnected from any primary: the role is not known. (While
    // a dead primary's lease runs out LiteFS may still name it; forwarded writes then fail and retry.)
    this.#set({ known: isPrimary || hostname !== null, isPrimary, primary: hostname });
  }

  #set(state: LeaderState): void {
    const previous = this.#state;
    if (previous.known === state.known && previous.isPrimary === state.isPrimary && previous.primary === state.primary) return;
    this.#state = state;
    this.#log.info({ isPrimary: state.isPrimary, primary: state.primary, known: state.known }, 'role changed');
    for (const listener of [...this.#listeners]) listener(state);
  }

  #until(predicate: (state: LeaderState) => boolean, signal: AbortSignal): Promise<void> {
    if (predicate(this.#state)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const unsubscribe = this.subscribe((state) => {
        if (!predicate(state)) return;
        cleanup();
        resolve();
      });
      const onAbort = (): void => {
        cleanup();
        reject(signal.reason);
      };
      const cleanup = (): void => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

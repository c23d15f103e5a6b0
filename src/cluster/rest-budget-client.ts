import { ShardlineError, isShardlineError } from '../core/errors.ts';
import type { InvalidLevel, InvalidThresholds } from '../core/invalid-request-budget.ts';
import type { Logger } from '../core/ports.ts';
import { BucketBoard, type BucketKey, type BucketObservation } from '../core/rest-bucket-board.ts';
import { DecisionClock, SendWindow, type SendSlot } from '../core/rest-budget.ts';
import type { LeaseGrant, LeaseRequest } from './rest-budget-protocol.ts';
import { RestInvalidWatch } from './rest-invalid-watch.ts';
import { RestLeaseState, type ShareSource } from './rest-lease-state.ts';

export interface RestBudgetClientOptions {
  readonly nodeId: string;
  /** The token's global limit, requests per second. */
  readonly limit: number;
  readonly windowMs: number;
  /** How often the node asks for its lease (the heartbeat interval). */
  readonly leaseIntervalMs: number;
  /** After its last grant, how long a node spends its fallback share before it stops (the node timeout). */
  readonly fallbackMs: number;
  readonly invalidLimit: number;
  readonly invalidWindowMs: number;
  /** Reaches the primary (in-process on the primary). A refused connection carries `details.refused` and `details.primary`. */
  lease(request: LeaseRequest, signal: AbortSignal): Promise<LeaseGrant>;
  /** Who LiteFS says is primary now (null: nobody known). */
  primaryNow(): string | null;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** Why a request waits, for its event and its error. */
export interface BudgetWait {
  readonly global: boolean;
  readonly waitMs: number;
  readonly limit: number;
  readonly reason: string;
}

interface Waiter {
  readonly since: number;
  resolve(slot: SendSlot): void;
  reject(error: unknown): void;
  readonly describe: string;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
}

export type RateLimitCounts = LeaseRequest['rateLimited'];

export interface RestBudgetStatus {
  readonly nodeId: string;
  readonly limit: number;
  /** What this node may spend now, per window, and why. */
  readonly share: number;
  readonly source: ShareSource;
  readonly primary: string | null;
  readonly leaseAgeMs: number | null;
  /** Every node's share as the primary last told this node. */
  readonly shares: Readonly<Record<string, number>>;
  readonly sent: number;
  readonly sentLastWindow: number;
  readonly waiting: number;
  readonly rateLimited: RateLimitCounts;
  readonly invalid: { readonly local: number; readonly cluster: number; readonly limit: number; readonly level: InvalidLevel } & InvalidThresholds;
  readonly buckets: { readonly contended: number; readonly blocked: number; readonly waits: number };
  /** The primary the last lease came from, once it lost the lease. */
  readonly formerPrimary: string | null;
}

/**
 * A node's side of the cluster's REST budget (contract 12). Every request waits here, on this
 * node only, for its bucket (when other nodes spent it or share it) and for a slot in this
 * node's share of the global limit; nothing goes over the network but the request itself.
 * Once per lease interval it reports to the primary and gets its share back. Without a grant:
 * the last share until the lease ends, then the fallback the primary named (the limit divided
 * by the nodes; by one less once the granting primary lost the lease, since a primary that
 * loses it spends nothing until a new one grants it a share), and nothing once `fallbackMs`
 * passed without a grant, since by then the primary counts this node as gone and has given
 * its share to others.
 */
export class RestBudgetClient {
  readonly #o: RestBudgetClientOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #window: SendWindow;
  readonly #decisions = new DecisionClock();
  readonly #board: BucketBoard;
  readonly #invalid: RestInvalidWatch;
  readonly #lease: RestLeaseState;
  readonly #queue: Waiter[] = [];
  readonly #closing = new AbortController();
  #sent = 0;
  #sentAtLastAsk = 0;
  #lastAskAt = 0;
  #bucketWaits = 0;
  readonly #rateLimited: RateLimitCounts = { global: 0, user: 0, shared: 0, sublimit: 0 };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticker: ReturnType<typeof setInterval> | undefined;
  #asking = false;
  #failures = 0;
  #closed = false;

  constructor(options: RestBudgetClientOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'rest-budget' });
    this.#now = options.now ?? Date.now;
    this.#window = new SendWindow(options.windowMs);
    this.#board = new BucketBoard(options.nodeId);
    this.#invalid = new RestInvalidWatch({ limit: options.invalidLimit, windowMs: options.invalidWindowMs, globalLimit: options.limit, logger: this.#log });
    this.#lease = new RestLeaseState(options.nodeId, options.fallbackMs);
  }

  /** The primary this node's last lease came from, if that is not this node: a new primary here counts it as former. */
  get lastPrimary(): string | null {
    return this.#lease.lastPrimary;
  }

  /** LiteFS changed its mind about the primary: a lost lease changes what this node may spend at once. */
  leadershipChanged(): void {
    this.#observeLeadership(this.#now());
    this.#pump();
  }

  start(): void {
    this.#ticker = setInterval(() => void this.refresh(), this.#o.leaseIntervalMs);
    void this.refresh();
  }

  /** Stops asking; requests still waiting reject with CLOSED (none is dropped silently). */
  close(): void {
    this.#closed = true;
    this.#closing.abort(new ShardlineError('CLOSED', 'The node is closing'));
    if (this.#ticker !== undefined) clearInterval(this.#ticker);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#ticker = undefined;
    this.#timer = undefined;
    for (const w of this.#queue.splice(0)) {
      this.#detach(w);
      w.reject(new ShardlineError('CLOSED', `Cannot send ${w.describe}: the node is closing`));
    }
  }

  /**
   * Waits until a request on `key` may leave this node: its bucket first, then a slot in the
   * share. `exempt` requests (interaction callbacks) do not count toward the global limit.
   * Rejects with TIMEOUT (CLOSED) when `signal` aborts on a deadline (otherwise) meanwhile.
   */
  async acquire(key: BucketKey, describe: string, options: { exempt?: boolean; signal?: AbortSignal; since?: number; onWait?: (wait: BudgetWait) => void } = {}): Promise<SendSlot | null> {
    const { signal } = options;
    const since = options.since ?? this.#now();
    for (;;) {
      if (signal?.aborted) throw deadlineError(describe, signal, this.#now() - since, 'waiting for its bucket');
      if (this.#closed) throw new ShardlineError('CLOSED', `Cannot send ${describe}: the node is closing`);
      const bucket = this.#board.waitMs(key, this.#now());
      if (bucket.waitMs <= 0) break;
      this.#bucketWaits += 1;
      options.onWait?.({ global: false, waitMs: bucket.waitMs, limit: bucket.limit, reason: bucket.reason === 'blocked' ? 'another node spent the bucket' : 'the bucket is split between nodes' });
      const both = signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
      await sleep(bucket.waitMs, both).catch(() => {
        if (signal?.aborted) throw deadlineError(describe, signal, this.#now() - since, 'waiting for its bucket');
        throw new ShardlineError('CLOSED', `Cannot send ${describe}: the node is closing`);
      });
    }
    const slot = options.exempt ? null : await this.#takeSlot(describe, since, signal, options.onWait);
    this.#board.noteSend(key, this.#now());
    return slot;
  }

  /**
   * The request that took `slot` got its answer (or failed) now; every acquire()d request is
   * released once. `serverTimeMs` (Discord's clock at its decision, from the headers) frees the
   * slot sooner than the answer would.
   */
  release(slot: SendSlot | null, serverTimeMs: number | null): void {
    if (!slot) return;
    const now = this.#now();
    this.#window.release(slot, this.#decisions.decidedBy(slot.start, now, serverTimeMs));
    if (this.#queue.length > 0) this.#pump();
  }

  /** What a response said: bucket state, 429s by scope, invalid answers. */
  observe(key: BucketKey, seen: BucketObservation): void {
    const now = this.#now();
    this.#board.observe(key, seen, now);
    if (seen.status === 429) {
      const scope = seen.scope === 'global' ? 'global' : seen.scope === 'shared' ? 'shared' : seen.remaining !== null && seen.remaining > 0 ? 'sublimit' : 'user';
      this.#rateLimited[scope] += 1;
    }
    if (seen.status === 401 || seen.status === 403 || (seen.status === 429 && seen.scope !== 'shared')) this.#invalid.add(now);
  }

  /** Asks the primary for this node's lease now (the loop does it every interval). */
  async refresh(): Promise<void> {
    if (this.#asking || this.#closed) return;
    this.#asking = true;
    const now = this.#now();
    this.#observeLeadership(now);
    const elapsed = Math.max(1, now - (this.#lastAskAt || now - this.#o.leaseIntervalMs));
    const ownInvalid = this.#invalid.own(now);
    const share = this.#lease.enforced(now);
    const request: LeaseRequest = {
      nodeId: this.#o.nodeId,
      demand: ((this.#sent - this.#sentAtLastAsk) * 1000) / elapsed + this.#queue.length,
      holding: share,
      // Requests still holding a slot may share a second at Discord with the next ones: their share still counts.
      windowMax: this.#lease.windowMax(this.#window.oldestStart(now), share),
      invalid: ownInvalid,
      sent: this.#sent,
      rateLimited: { ...this.#rateLimited },
      formerPrimary: this.#lease.formerPrimary,
      buckets: this.#board.drainReports(now, 256),
    };
    this.#sentAtLastAsk = this.#sent;
    this.#lastAskAt = now;
    try {
      const grant = await this.#o.lease(request, this.#closing.signal);
      if (this.#closed) return;
      this.#apply(grant, now, ownInvalid);
    } catch (error) {
      this.#failed(error);
    } finally {
      this.#asking = false;
      this.#pump();
    }
  }

  status(): RestBudgetStatus {
    const now = this.#now();
    const { share, source } = this.#lease.shareNow(now);
    const grant = this.#lease.grant;
    const invalid = this.#invalid;
    return {
      nodeId: this.#o.nodeId,
      limit: this.#o.limit,
      share,
      source,
      primary: grant?.primary ?? null,
      leaseAgeMs: grant ? now - this.#lease.askedAt : null,
      shares: grant?.shares ?? {},
      sent: this.#sent,
      sentLastWindow: this.#window.count(now),
      waiting: this.#queue.length,
      rateLimited: { ...this.#rateLimited },
      invalid: { local: invalid.own(now), cluster: invalid.cluster(now), limit: invalid.limit, level: invalid.throttle(now).level, ...invalid.thresholds },
      buckets: { ...this.#board.counts(now), waits: this.#bucketWaits },
      formerPrimary: this.#lease.formerPrimary,
    };
  }

  #apply(grant: LeaseGrant, askedAt: number, ownInvalid: number): void {
    const previous = this.#lease.grant?.primary ?? null;
    this.#lease.apply(grant, askedAt);
    const now = this.#now();
    this.#board.applyNotices(grant.buckets, now);
    if (this.#failures > 0 || previous !== grant.primary) {
      this.#log.info({ primary: grant.primary, share: grant.share, limit: grant.limit, nodes: grant.nodes, after: this.#failures }, 'REST budget granted by the primary');
    }
    this.#failures = 0;
    this.#invalid.granted(grant.invalid.count, ownInvalid, now);
  }

  #failed(error: unknown): void {
    this.#failures += 1;
    const now = this.#now();
    const details = isShardlineError(error) ? error.details : {};
    const primary = typeof details['primary'] === 'string' ? details['primary'] : null;
    if (details['refused'] === true && primary !== null && this.#lease.lost(primary, now)) this.#logLost(primary, 'its port refuses connections (its process is gone)');
    const level = this.#failures === 1 || this.#failures % 20 === 0 ? 'warn' : 'debug';
    this.#log[level]({ err: (error as Error).message, failures: this.#failures, share: this.#lease.shareNow(now) }, 'cannot reach the primary for the REST budget; spending what the last lease allows');
  }

  #observeLeadership(now: number): void {
    const current = this.#o.primaryNow();
    const granting = this.#lease.grant?.primary;
    const change = this.#lease.observeLeadership(current, now);
    if (change === 'demoted') this.#log.info({ primary: current }, 'this node lost the primary lease: no REST budget until the new primary grants a share');
    else if (change === 'lost') this.#logLost(granting!, current === null ? 'LiteFS knows no primary now' : `LiteFS names ${current} the primary now`);
  }

  #logLost(primary: string, why: string): void {
    this.#log.warn({ primary }, `the primary ${primary} lost its lease (${why}): once the leases it granted have ended, this node spends its part of that primary's share too, until the next primary grants one`);
  }

  async #takeSlot(describe: string, since: number, signal: AbortSignal | undefined, onWait: ((wait: BudgetWait) => void) | undefined): Promise<SendSlot> {
    if (this.#queue.length === 0) {
      const slot = this.#tryTake(this.#now());
      if (slot) return slot;
    }
    if (onWait) {
      const now = this.#now();
      const { share, source } = this.#lease.shareNow(now);
      onWait({ global: true, waitMs: Math.min(60_000, this.#window.waitMs(now, this.#effective(share, now))), limit: share, reason: source });
    }
    return new Promise<SendSlot>((resolve, reject) => {
      const waiter: Waiter = { since, resolve, reject, describe, signal, onAbort: null };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(deadlineError(describe, signal, this.#now() - since, this.#why(this.#now())));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      this.#pump();
    });
  }

  #effective(share: number, now: number): number {
    const { factor } = this.#invalid.throttle(now);
    if (factor >= 1) return share;
    return factor <= 0 ? 0 : Math.max(1, Math.floor(share * factor));
  }

  #tryTake(now: number): SendSlot | null {
    const share = this.#effective(this.#lease.enforced(now), now);
    if (this.#window.waitMs(now, share) > 0) return null;
    this.#sent += 1;
    return this.#window.take(now);
  }

  /** Lets waiting requests go, oldest first, as the share allows; otherwise sleeps until a slot frees. */
  #pump(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0) {
      const now = this.#now();
      const slot = this.#tryTake(now);
      if (!slot) {
        const wait = this.#window.waitMs(now, this.#effective(this.#lease.enforced(now), now));
        // Only an answer (release) or the next lease (or its end) can change that: look again by then.
        const delay = Number.isFinite(wait) ? wait : this.#o.leaseIntervalMs;
        if (!this.#closed) this.#timer = setTimeout(() => this.#pump(), delay);
        return;
      }
      const waiter = this.#queue.shift()!;
      this.#detach(waiter);
      waiter.resolve(slot);
    }
  }

  #detach(w: Waiter): void {
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
  }

  #why(now: number): string {
    const { share, source } = this.#lease.shareNow(now);
    const effective = this.#effective(share, now);
    const parts = [`waiting for the cluster's REST budget: this node's share is ${effective} of ${this.#o.limit} requests/s (${source})`];
    if (effective < share) parts.push(`throttled because the cluster had ${this.#invalid.cluster(now)} invalid answers of the ${this.#invalid.limit} that get the IP banned`);
    if (source === 'stopped') parts.push(`no grant from the primary for ${now - this.#lease.askedAt} ms`);
    parts.push(`${this.#queue.length} requests were waiting`);
    return parts.join('; ');
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The error of a request whose caller's signal ended its wait: TIMEOUT for a deadline, CLOSED for a cancel. */
export function deadlineError(describe: string, signal: AbortSignal, waitedMs: number, why: string): ShardlineError {
  const reason: unknown = signal.reason;
  const deadline = reason instanceof Error && reason.name === 'TimeoutError';
  return new ShardlineError(
    deadline ? 'TIMEOUT' : 'CLOSED',
    `Cannot send ${describe}: ${deadline ? 'its deadline passed' : 'its caller aborted it'} after ${Math.round(waitedMs)} ms ${why}; it was not sent`,
    { cause: reason, details: { waitedMs: Math.round(waitedMs) } },
  );
}

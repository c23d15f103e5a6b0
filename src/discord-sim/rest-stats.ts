import type { RestLimits } from './rest-limits.ts';

export type RateLimitScope = 'global' | 'user' | 'shared' | 'sublimit';

/** What the simulated Discord saw from one token, one client (node) or one route. */
export interface RestCounts {
  requests: number;
  /** 2xx answers. */
  ok: number;
  /** 429 answers by what limited them (sublimit: a user-scope 429 with room left in the bucket). */
  rateLimited: Record<RateLimitScope, number>;
  /** 401, 403 and non-shared 429 answers: what Discord's ban counts. */
  invalid: number;
  /** Requests answered with the ban's own 429. */
  banned: number;
}

export interface RestClientStats extends RestCounts {
  /** Invalid answers within the sliding window now. */
  readonly invalidInWindow: number;
  readonly bannedUntil: number | null;
  bans: number;
}

/** `GET /_sim/stats` → `rest`. */
export interface RestStatsSnapshot {
  readonly limits: { readonly globalLimit: number; readonly invalidLimit: number; readonly invalidWindowMs: number; readonly banMs: number };
  readonly total: RestCounts;
  readonly byToken: Record<string, RestCounts>;
  /** Keyed by the X-Shardline-Node header, or the client's address without one. */
  readonly byClient: Record<string, RestClientStats>;
  /** Keyed by `METHOD /route/pattern`. */
  readonly byRoute: Record<string, RestCounts>;
}

function emptyCounts(): RestCounts {
  return { requests: 0, ok: 0, rateLimited: { global: 0, user: 0, shared: 0, sublimit: 0 }, invalid: 0, banned: 0 };
}

function copyCounts(c: RestCounts): RestCounts {
  return { ...c, rateLimited: { ...c.rateLimited } };
}

export interface RestAnswer {
  readonly token: string | null;
  readonly client: string;
  readonly route: string | null;
  readonly status: number;
  readonly limitedBy: RateLimitScope | null;
  readonly invalid: boolean;
  readonly banned: boolean;
  readonly banStarted: boolean;
}

/** Counters of the simulated REST API, per token, per client and per route. */
export class RestStats {
  readonly #limits: RestLimits;
  readonly #total = emptyCounts();
  readonly #byToken = new Map<string, RestCounts>();
  readonly #byClient = new Map<string, { counts: RestCounts; bans: number }>();
  readonly #byRoute = new Map<string, RestCounts>();

  constructor(limits: RestLimits) {
    this.#limits = limits;
  }

  record(answer: RestAnswer): void {
    const targets = [this.#total, this.#client(answer.client).counts];
    if (answer.token !== null) targets.push(this.#entry(this.#byToken, answer.token));
    if (answer.route !== null) targets.push(this.#entry(this.#byRoute, answer.route));
    for (const c of targets) {
      c.requests += 1;
      if (answer.status >= 200 && answer.status < 300) c.ok += 1;
      if (answer.limitedBy) c.rateLimited[answer.limitedBy] += 1;
      if (answer.invalid) c.invalid += 1;
      if (answer.banned) c.banned += 1;
    }
    if (answer.banStarted) this.#client(answer.client).bans += 1;
  }

  snapshot(): RestStatsSnapshot {
    const byClient: Record<string, RestClientStats> = {};
    for (const [client, entry] of this.#byClient) {
      byClient[client] = { ...copyCounts(entry.counts), bans: entry.bans, invalidInWindow: this.#limits.invalidCount(client), bannedUntil: this.#limits.bannedUntil(client) };
    }
    const plain = (map: Map<string, RestCounts>): Record<string, RestCounts> => Object.fromEntries([...map].map(([k, v]) => [k, copyCounts(v)]));
    return {
      limits: { globalLimit: this.#limits.globalLimit, invalidLimit: this.#limits.invalidLimit, invalidWindowMs: this.#limits.invalidWindowMs, banMs: this.#limits.banMs },
      total: copyCounts(this.#total),
      byToken: plain(this.#byToken),
      byClient,
      byRoute: plain(this.#byRoute),
    };
  }

  #client(client: string): { counts: RestCounts; bans: number } {
    let entry = this.#byClient.get(client);
    if (!entry) {
      entry = { counts: emptyCounts(), bans: 0 };
      this.#byClient.set(client, entry);
    }
    return entry;
  }

  #entry(map: Map<string, RestCounts>, key: string): RestCounts {
    let entry = map.get(key);
    if (!entry) {
      entry = emptyCounts();
      map.set(key, entry);
    }
    return entry;
  }
}

import type { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import type { BotDefinition } from '../../src/bot.ts';
import { isShardlineError } from '../../src/core/errors.ts';

/** How one offered request ended. */
export type Outcome = 'answered' | 'deadline' | 'aborted' | 'closed' | 'failed';

export interface NodeLoad {
  readonly nodeId: string;
  offered: number;
  answered: number;
  /** Answered within the offering window (what throughput counts). */
  answeredInWindow: number;
  /** Rejected at its deadline with shardline's clear TIMEOUT error. */
  deadline: number;
  /** Rejected with the library's own error once its signal aborted (a plain @discordjs/rest at its deadline). */
  aborted: number;
  closed: number;
  /** Rejected with anything else: a 429 that surfaced, a network error. */
  failed: number;
  pending: number;
  readonly failures: string[];
  /** Milliseconds from offer to answer, of answered requests. */
  readonly latencies: number[];
}

export interface RestLoadOptions {
  /** Requests per second each node offers. */
  readonly perNodePerSecond: number;
  readonly durationMs: number;
  /** Each request's deadline (its AbortSignal.timeout). */
  readonly deadlineMs: number;
  /** The channels a node sends to, by node id. */
  readonly channelsFor: (nodeId: string) => readonly string[];
}

/**
 * Load offered through the REST client handlers get (ctx.rest): each node's bot hands its
 * client over from shardReady, and run() makes every node offer its rate at once, with a
 * deadline per request. Every offered request ends answered or rejected; `pending` counts
 * those that have not ended yet (lost, if they never do).
 */
export class RestLoad {
  readonly #o: RestLoadOptions;
  readonly #rests = new Map<string, REST>();
  readonly nodes = new Map<string, NodeLoad>();
  readonly #stopped = new Set<string>();
  #startedAt = 0;
  #endsAt = 0;

  constructor(options: RestLoadOptions) {
    this.#o = options;
  }

  /** A bot whose shardReady hands the node's ctx.rest to this load. */
  bot(nodeId: string, intents = 1): BotDefinition {
    return {
      intents,
      shardReady: (_info, ctx) => {
        this.#rests.set(nodeId, ctx.rest);
      },
    };
  }

  /** Offers through `rest` as `nodeId` (a client of the peer's, not a handler's). */
  use(nodeId: string, rest: REST): void {
    this.#rests.set(nodeId, rest);
  }

  ready(nodeIds: readonly string[]): boolean {
    return nodeIds.every((id) => this.#rests.has(id));
  }

  get startedAt(): number {
    return this.#startedAt;
  }

  /** Offers the load from every node that handed its client over; resolves when the offering ends. */
  async run(): Promise<void> {
    const o = this.#o;
    this.#startedAt = Date.now();
    this.#endsAt = this.#startedAt + o.durationMs;
    const tickMs = 10;
    const loops = [...this.#rests].map(async ([nodeId, rest]) => {
      const load: NodeLoad = { nodeId, offered: 0, answered: 0, answeredInWindow: 0, deadline: 0, aborted: 0, closed: 0, failed: 0, pending: 0, failures: [], latencies: [] };
      this.nodes.set(nodeId, load);
      const channels = o.channelsFor(nodeId);
      for (;;) {
        const now = Date.now();
        if (now >= this.#endsAt || this.#stopped.has(nodeId)) return;
        const due = Math.floor(((now - this.#startedAt) * o.perNodePerSecond) / 1000) + 1;
        while (load.offered < due) this.#offer(rest, load, channels[load.offered % channels.length]!);
        await new Promise((r) => setTimeout(r, tickMs));
      }
    });
    await Promise.all(loops);
  }

  /** The node stops offering (it is about to die); what it offered still ends one way or another. */
  stop(nodeId: string): void {
    this.#stopped.add(nodeId);
  }

  totals(nodeIds?: readonly string[]): NodeLoad {
    const sum: NodeLoad = { nodeId: 'all', offered: 0, answered: 0, answeredInWindow: 0, deadline: 0, aborted: 0, closed: 0, failed: 0, pending: 0, failures: [], latencies: [] };
    for (const load of this.nodes.values()) {
      if (nodeIds && !nodeIds.includes(load.nodeId)) continue;
      for (const k of ['offered', 'answered', 'answeredInWindow', 'deadline', 'aborted', 'closed', 'failed', 'pending'] as const) sum[k] += load[k];
      sum.failures.push(...load.failures);
      sum.latencies.push(...load.latencies);
    }
    return sum;
  }

  #offer(rest: REST, load: NodeLoad, channelId: string): void {
    load.offered += 1;
    load.pending += 1;
    const at = Date.now();
    const signal = AbortSignal.timeout(this.#o.deadlineMs);
    rest
      .post(Routes.channelMessages(channelId), { body: { content: `load ${load.nodeId} ${load.offered}` }, signal })
      .then(
        () => {
          const now = Date.now();
          load.answered += 1;
          if (now <= this.#endsAt) load.answeredInWindow += 1;
          load.latencies.push(now - at);
        },
        (error: unknown) => {
          if (isShardlineError(error, 'TIMEOUT')) load.deadline += 1;
          else if (isShardlineError(error, 'CLOSED')) load.closed += 1;
          else if (signal.aborted && !isShardlineError(error)) load.aborted += 1;
          else {
            load.failed += 1;
            if (load.failures.length < 10) load.failures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
          }
        },
      )
      .finally(() => {
        load.pending -= 1;
      });
  }
}

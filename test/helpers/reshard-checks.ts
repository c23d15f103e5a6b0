import { Routes } from 'discord-api-types/v10';
import type { BotDefinition } from '../../src/bot.ts';
import { isIdCarrying } from '../../src/core/event-identity.ts';
import type { LogicalCheck } from '../../src/discord-sim/fake-discord.ts';
import { DEFAULT_TRAFFIC_MIX } from '../../src/discord-sim/traffic-events.ts';
import { ADMIN_TOKEN, type SimCluster } from './sim-cluster.ts';
import { recordingBot, type Recorded } from './test-host.ts';
import { waitFor } from './wait-for.ts';

/** The default traffic with slash commands mixed in, so a double handling shows as a refused (40060) answer. */
export const RESHARD_MIX = { ...DEFAULT_TRAFFIC_MIX, INTERACTION_CREATE: 5 };

/** Records every dispatch it handles (for the ledger) and answers every interaction once per handling. */
export function answeringBot(recorded: Recorded[]): BotDefinition {
  return {
    ...recordingBot(undefined, recorded),
    handlers: {
      INTERACTION_CREATE: async (interaction, ctx) => {
        await ctx.rest.post(Routes.interactionCallback(interaction.id, interaction.token), { body: { type: 4, data: { content: 'pong' } }, auth: false });
      },
    },
  };
}

export async function admin(cluster: SimCluster, nodeId: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${cluster.node(nodeId).host.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Every shard of a set of `count` runs on exactly one node, ready and live, and every node runs that set. */
export function onOneSet(cluster: SimCluster, count: number): boolean {
  const nodes = [...cluster.nodes.values()];
  if (!nodes.every((n) => n.host.shardCount === count && n.host.status().pendingShards?.length === 0)) return false;
  const running = cluster.running();
  if (running.size !== count || [...running.values()].some((owners) => owners.length !== 1)) return false;
  return nodes.every((n) => n.host.runners().every((r) => r.shardCount === count && r.mode === 'live' && r.shard.status === 'ready'));
}

export async function reshardDone(cluster: SimCluster, count: number, timeoutMs = 90_000): Promise<void> {
  await waitFor(() => cluster.primary()?.host.status().reshard?.phase === 'done' && onOneSet(cluster, count), {
    timeoutMs,
    message: `the cluster runs one complete set of ${count} shards`,
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${cluster.dump()}\nreshard: ${JSON.stringify(cluster.primary()?.host.status().reshard)}`, { cause: error });
  });
}

/** Waits until every routed event since `since` was handled through some session, then answers the check. */
export async function handledAll(cluster: SimCluster, recorded: readonly Recorded[], since: number): Promise<LogicalCheck> {
  const check = (): LogicalCheck => cluster.discord.ledger.checkLogical(recorded, { since, idCarrying: isIdCarrying });
  await waitFor(() => check().lost.length === 0, { timeoutMs: 30_000, message: 'every routed event handled' }).catch((error: Error) => {
    const lost = check().lost;
    if (process.env['DEBUG_RESHARD']) console.log(cluster.log.text().split('\n').filter((l) => /resharder|took over|retired|level":(40|50)/.test(l)).map((l) => l.slice(0, 260)).join('\n'));
    throw new Error(`${error.message}: ${lost.length} lost, first ${JSON.stringify(lost.slice(0, 5))}\n${cluster.dump()}`, { cause: error });
  });
  return check();
}

import type { Hono } from 'hono';
import { z } from 'zod';
import { documents } from '../openapi/documents.ts';
import { openApiDocument, type ErrorModel, type OpenApiDocument } from '../openapi/openapi-document.ts';
import type { RouteDoc } from '../openapi/route-doc.ts';
import { VERSION } from '../version.ts';
import type { LedgerCheck, LogicalCheck } from './ledger.ts';
import type { RestStatsSnapshot } from './rest-stats.ts';
import type { SimStats } from './sim-stats.ts';

/**
 * The simulated Discord's control plane (`/_sim/*`), as zod schemas its routes validate with
 * and the descriptions of its OpenAPI document (GET /_sim/openapi.json). The simulated
 * Discord REST API under /api/v9 and /api/v10 imitates Discord's own, which Discord describes;
 * it validates by hand with Discord's error bodies, so it is not part of this document.
 */

const shardId = z.number().int().min(0);
export const faultBody = z.discriminatedUnion('fault', [
  z.object({ fault: z.literal('reconnect'), shardId, beforeHello: z.boolean().optional() }),
  z.object({ fault: z.literal('invalidSession'), shardId, resumable: z.boolean() }),
  z.object({ fault: z.literal('close'), shardId, code: z.number().int(), reason: z.string().max(120).optional() }),
  z.object({ fault: z.literal('withholdAcks'), shardId, on: z.boolean() }),
  z.object({ fault: z.literal('dropTcp'), shardId }),
  z.object({ fault: z.literal('delayReady'), ms: z.number().min(0) }),
  z.object({ fault: z.literal('sendRaw'), shardId, frame: z.string() }),
  z.object({ fault: z.literal('sendFrame'), shardId, frame: z.string() }),
]);
/**
 * Bounds of one control request. Events and guilds are made on the event loop, all of a
 * request's (or of a rate's tick) at once: the fuzzer found a rate of 5e307 events/s looping
 * forever in one tick, and ten million events keeping a simulator busy for minutes and
 * gigabytes. More is several requests, or a longer while.
 */
export const SIM_CONTROL_LIMITS = { emit: 100_000, eventsPerSecond: 100_000, addGuilds: 10_000, guildsPerSecond: 1_000 } as const;
export const trafficBody = z.union([
  z.object({ eventsPerSecond: z.number().min(0).max(SIM_CONTROL_LIMITS.eventsPerSecond) }),
  z.object({ emit: z.number().int().min(0).max(SIM_CONTROL_LIMITS.emit) }),
]);
export const guildsBody = z.union([
  z.strictObject({ add: z.number().int().min(0).max(SIM_CONTROL_LIMITS.addGuilds) }),
  z.strictObject({ perSecond: z.number().min(0).max(SIM_CONTROL_LIMITS.guildsPerSecond), until: z.number().int().min(0).optional() }),
]);
const handled = z.array(z.object({ sessionId: z.string(), seq: z.number().int() }));
export const logicalBody = z.object({
  handled,
  since: z.number().int().min(0).optional(),
  /** Event types that carry a stable id: their duplicates are listed apart. */
  idCarrying: z.array(z.string().max(64)).max(200).optional(),
});
export const handledBody = z.object({ handled });
/** The ledger routes' shard id, matched by the router itself (`:shardId{[0-9]+}`): /_sim/ledger/check is another route. */
export const ledgerShardPath = z.string().regex(/^[0-9]+$/).describe('A shard id');

const count = z.number().int().nonnegative();
const ledgerEvent = z.strictObject({ sessionId: z.string(), seq: z.number().int(), t: z.number() });
const logicalEvent = z.strictObject({ eventNo: count, t: z.string(), at: z.number(), handled: count });
const restCounts = z.strictObject({ requests: count, ok: count, rateLimited: z.strictObject({ global: count, user: count, shared: count, sublimit: count }), invalid: count, banned: count });

export const restStatsBody = documents(
  z.strictObject({
    limits: z.strictObject({ globalLimit: z.number(), invalidLimit: z.number(), invalidWindowMs: z.number(), banMs: z.number() }),
    total: restCounts,
    byToken: z.record(z.string(), restCounts),
    byClient: z.record(z.string(), restCounts.extend({ invalidInWindow: count, bannedUntil: z.number().nullable(), bans: count })),
    byRoute: z.record(z.string(), restCounts),
  }),
).of<RestStatsSnapshot>(true);

const simStatsBody = documents(
  z.strictObject({
    identifies: count,
    resumes: count,
    identifiesByShard: z.record(z.string(), count),
    resumesByShard: z.record(z.string(), count),
    invalidSessions: count,
    heartbeats: count,
    heartbeatAcks: count,
    interactionResponses: count,
    interactionsAnsweredTwice: count,
    rest: restStatsBody.optional(),
  }),
).of<SimStats>(true);

const ledgerCheckBody = documents(
  z.strictObject({ expected: count, delivered: count, lost: z.array(ledgerEvent), duplicated: z.array(ledgerEvent), outOfOrder: count }),
).of<LedgerCheck>(true);

const logicalCheckBody = documents(
  z.strictObject({ expected: count, handled: count, lost: z.array(logicalEvent), duplicatedIdCarrying: z.array(logicalEvent), duplicatedOther: count }),
).of<LogicalCheck>(true);

const ok = z.strictObject({ ok: z.literal(true) });
const tags = ['simulator'];

export const SIM_ROUTE_DOCS = {
  faults: {
    summary: 'Inject a gateway fault into a shard\'s live connections',
    description: 'op 7 (optionally before HELLO), op 9 resumable or not, a close code, withheld heartbeat ACKs, a dropped TCP connection, a delayed READY, raw bytes or a frame through the zlib stream.',
    tags,
    body: { schema: faultBody },
    responses: { 200: { description: 'Injected; connections says how many it touched', schema: z.strictObject({ ok: z.literal(true), connections: count.optional() }) } },
  },
  ledger: {
    summary: "A shard's ledger: every dispatch sequenced, and every transmission",
    tags,
    params: { shardId: { schema: ledgerShardPath, description: 'The shard id (a path with anything else is not a route: 404)' } },
    errors: ['NOT_FOUND'],
    responses: {
      200: {
        description: 'Events and transmissions',
        schema: z.strictObject({ events: z.array(ledgerEvent), transmissions: z.array(z.strictObject({ connectionId: z.string(), sessionId: z.string(), seq: z.number().int(), t: z.number() })) }),
      },
    },
  },
  ledgerCheck: {
    summary: "Check what a client handled against one shard's ledger: lost, duplicated, out of order",
    tags,
    params: { shardId: { schema: ledgerShardPath, description: 'The shard id (a path with anything else is not a route: 404)' } },
    errors: ['NOT_FOUND'],
    body: { schema: handledBody },
    responses: { 200: { description: 'The check', schema: ledgerCheckBody } },
  },
  logicalCheck: {
    summary: 'Check what a client handled against every logical event (across shard sets)',
    tags,
    body: { schema: logicalBody },
    responses: { 200: { description: 'The check', schema: logicalCheckBody } },
  },
  guilds: {
    summary: 'Add guilds to the world now, or at a rate',
    tags,
    body: { schema: guildsBody },
    responses: { 200: { description: 'The ids of the guilds added, or the rate now', schema: z.union([z.strictObject({ added: z.array(z.string()) }), z.strictObject({ perSecond: z.number() })]) } },
    errors: ['CONFLICT'],
  },
  stats: {
    summary: "The simulator's counters: identifies, resumes, heartbeats, interactions, REST",
    tags,
    responses: { 200: { description: 'The counters', schema: simStatsBody } },
  },
  traffic: {
    summary: 'Emit traffic events now, or set the rate (0 stops it)',
    tags,
    body: { schema: trafficBody },
    responses: { 200: { description: 'Emitted, or the rate now', schema: z.union([z.strictObject({ emitted: count }), z.strictObject({ eventsPerSecond: z.number() })]) } },
  },
  restStats: {
    summary: "REST's counts per token, client and route",
    tags,
    responses: { 200: { description: 'The counts', schema: restStatsBody } },
  },
  restForgive: {
    summary: 'Lift REST bans and clear invalid-request windows (between phases of a test)',
    tags,
    responses: { 200: { description: 'Forgiven', schema: ok } },
  },
  openapi: {
    summary: 'This document (OpenAPI 3.1)',
    tags,
    responses: { 200: { description: 'The document', schema: z.looseObject({ openapi: z.string(), paths: z.looseObject({}) }) } },
  },
} satisfies Record<string, RouteDoc>;

/** A /_sim refusal is a 400 naming its code (the simulator is a test double: a refusal is the caller's mistake); a path that is not a route is a 404. */
const SIM_ERRORS: ErrorModel = {
  statusOf: (code) => ({ INTERNAL: 500, NOT_FOUND: 404, METHOD_NOT_ALLOWED: 405 })[code] ?? 400,
  body: (codes) => z.strictObject({ error: z.strictObject({ code: z.enum(codes as [string, ...string[]]), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }) }),
  implied: ({ input }) => (input ? ['INVALID_INPUT'] : []),
};

/** The OpenAPI document of the simulator's /_sim control routes, read off the simulator's app. */
export function simControlDocument(app: Hono): OpenApiDocument {
  return openApiDocument(app, {
    info: {
      title: 'shardline simulated Discord: control API',
      version: VERSION,
      description: 'The control plane of `shardline fake-discord` (faults, ledger, traffic, world growth, counters). Unauthenticated on purpose: the simulator is a test double bound to localhost by default.',
    },
    tags: [{ name: 'simulator', description: 'The simulated Discord\'s /_sim control routes' }],
    errors: SIM_ERRORS,
    include: (route) => route.path.startsWith('/_sim/'),
  });
}

import { Hono } from 'hono';
import { z } from 'zod';
import { isShardlineError } from '../core/errors.ts';
import type { Faults } from './faults.ts';
import type { Ledger } from './ledger.ts';
import type { SimStats } from './sim-stats.ts';
import type { GuildGrowth } from './guild-growth.ts';
import type { Traffic } from './traffic.ts';

export interface SimControl {
  readonly faults: Faults;
  readonly ledger: Ledger;
  readonly traffic: Traffic;
  readonly guilds: GuildGrowth;
  readonly stats: SimStats;
}

const shardId = z.number().int().min(0);
const faultBody = z.discriminatedUnion('fault', [
  z.object({ fault: z.literal('reconnect'), shardId, beforeHello: z.boolean().optional() }),
  z.object({ fault: z.literal('invalidSession'), shardId, resumable: z.boolean() }),
  z.object({ fault: z.literal('close'), shardId, code: z.number().int(), reason: z.string().max(120).optional() }),
  z.object({ fault: z.literal('withholdAcks'), shardId, on: z.boolean() }),
  z.object({ fault: z.literal('dropTcp'), shardId }),
  z.object({ fault: z.literal('delayReady'), ms: z.number().min(0) }),
  z.object({ fault: z.literal('sendRaw'), shardId, frame: z.string() }),
  z.object({ fault: z.literal('sendFrame'), shardId, frame: z.string() }),
]);
const trafficBody = z.union([
  z.object({ eventsPerSecond: z.number().min(0) }),
  z.object({ emit: z.number().int().min(0).max(10_000_000) }),
]);
const guildsBody = z.union([
  z.strictObject({ add: z.number().int().min(0).max(100_000) }),
  z.strictObject({ perSecond: z.number().min(0).max(100_000), until: z.number().int().min(0).optional() }),
]);
const logicalBody = z.object({
  handled: z.array(z.object({ sessionId: z.string(), seq: z.number().int() })),
  since: z.number().int().min(0).optional(),
  /** Event types that carry a stable id: their duplicates are listed apart. */
  idCarrying: z.array(z.string().max(64)).max(200).optional(),
});
const handledBody = z.object({ handled: z.array(z.object({ sessionId: z.string(), seq: z.number().int() })) });

/**
 * `/_sim/*`: the sim's control plane for other processes (the CLI, multi-process tests).
 * Unauthenticated on purpose: the sim is a test double bound to localhost by default.
 */
export function buildSimControlRoutes(sim: SimControl): Hono {
  const app = new Hono();
  const invalid = (message: string) => ({ error: { code: 'INVALID_INPUT', message } });
  app.onError((error, c) => {
    if (isShardlineError(error)) return c.json({ error: error.toJSON() }, 400);
    return c.json({ error: { code: 'INTERNAL', message: error.message } }, 500);
  });
  app.post('/faults', async (c) => {
    const parsed = faultBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid(`Cannot inject fault: ${parsed.error.message}`), 400);
    const body = parsed.data;
    let connections: number | undefined;
    switch (body.fault) {
      case 'reconnect': connections = sim.faults.reconnect(body.shardId, { beforeHello: body.beforeHello ?? false }); break;
      case 'invalidSession': connections = sim.faults.invalidSession(body.shardId, body.resumable); break;
      case 'close': connections = sim.faults.close(body.shardId, body.code, body.reason); break;
      case 'withholdAcks': sim.faults.withholdAcks(body.shardId, body.on); break;
      case 'dropTcp': connections = sim.faults.dropTcp(body.shardId); break;
      case 'delayReady': sim.faults.delayReady(body.ms); break;
      case 'sendRaw': connections = sim.faults.sendRaw(body.shardId, body.frame); break;
      case 'sendFrame': connections = sim.faults.sendFrame(body.shardId, body.frame); break;
    }
    return c.json({ ok: true, ...(connections === undefined ? {} : { connections }) });
  });
  app.get('/ledger/:shardId', (c) => {
    const id = Number(c.req.param('shardId'));
    if (!Number.isInteger(id) || id < 0) return c.json(invalid('Cannot read ledger: shard id must be a non-negative integer'), 400);
    return c.json({ events: sim.ledger.events(id), transmissions: sim.ledger.transmissions(id) });
  });
  app.post('/ledger/:shardId/check', async (c) => {
    const id = Number(c.req.param('shardId'));
    const parsed = handledBody.safeParse(await c.req.json().catch(() => undefined));
    if (!Number.isInteger(id) || id < 0 || !parsed.success) return c.json(invalid('Cannot check ledger: need a shard id and { handled: [{ sessionId, seq }] }'), 400);
    return c.json(sim.ledger.check(id, parsed.data.handled));
  });
  app.post('/ledger/check', async (c) => {
    const parsed = logicalBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid('Cannot check ledger: need { handled: [{ sessionId, seq }], since?, idCarrying? }'), 400);
    const types = new Set(parsed.data.idCarrying ?? []);
    return c.json(sim.ledger.checkLogical(parsed.data.handled, { since: parsed.data.since ?? 0, idCarrying: (t) => types.has(t) }));
  });
  app.post('/guilds', async (c) => {
    const parsed = guildsBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid(`Cannot grow the world: ${parsed.error.message}`), 400);
    if ('add' in parsed.data) return c.json({ added: sim.guilds.add(parsed.data.add) });
    sim.guilds.start({ perSecond: parsed.data.perSecond, ...(parsed.data.until === undefined ? {} : { until: parsed.data.until }) });
    return c.json({ perSecond: sim.guilds.perSecond });
  });
  app.get('/stats', (c) => c.json(sim.stats));
  app.post('/traffic', async (c) => {
    const parsed = trafficBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid(`Cannot change traffic: ${parsed.error.message}`), 400);
    if ('emit' in parsed.data) return c.json({ emitted: sim.traffic.emit(parsed.data.emit) });
    if (parsed.data.eventsPerSecond === 0) sim.traffic.stop();
    else sim.traffic.start({ eventsPerSecond: parsed.data.eventsPerSecond });
    return c.json({ eventsPerSecond: sim.traffic.eventsPerSecond });
  });
  return app;
}

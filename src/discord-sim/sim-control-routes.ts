import { Hono } from 'hono';
import { isShardlineError } from '../core/errors.ts';
import type { Faults } from './faults.ts';
import type { Ledger } from './ledger.ts';
import type { SimStats } from './sim-stats.ts';
import type { GuildGrowth } from './guild-growth.ts';
import type { Traffic } from './traffic.ts';
import { describeRoute } from '../openapi/route-doc.ts';
import { SIM_ROUTE_DOCS as DOCS, faultBody, guildsBody, handledBody, logicalBody, trafficBody } from './sim-control-docs.ts';

export interface SimControl {
  readonly faults: Faults;
  readonly ledger: Ledger;
  readonly traffic: Traffic;
  readonly guilds: GuildGrowth;
  readonly stats: SimStats;
}

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
  app.post('/faults', describeRoute(DOCS.faults), async (c) => {
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
  app.get('/ledger/:shardId{[0-9]+}', describeRoute(DOCS.ledger), (c) => {
    const id = Number(c.req.param('shardId'));
    if (!Number.isInteger(id) || id < 0) return c.json(invalid('Cannot read ledger: shard id must be a non-negative integer'), 400);
    return c.json({ events: sim.ledger.events(id), transmissions: sim.ledger.transmissions(id) });
  });
  app.post('/ledger/:shardId{[0-9]+}/check', describeRoute(DOCS.ledgerCheck), async (c) => {
    const id = Number(c.req.param('shardId'));
    const parsed = handledBody.safeParse(await c.req.json().catch(() => undefined));
    if (!Number.isInteger(id) || id < 0 || !parsed.success) return c.json(invalid('Cannot check ledger: need a shard id and { handled: [{ sessionId, seq }] }'), 400);
    return c.json(sim.ledger.check(id, parsed.data.handled));
  });
  app.post('/ledger/check', describeRoute(DOCS.logicalCheck), async (c) => {
    const parsed = logicalBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid('Cannot check ledger: need { handled: [{ sessionId, seq }], since?, idCarrying? }'), 400);
    const types = new Set(parsed.data.idCarrying ?? []);
    return c.json(sim.ledger.checkLogical(parsed.data.handled, { since: parsed.data.since ?? 0, idCarrying: (t) => types.has(t) }));
  });
  app.post('/guilds', describeRoute(DOCS.guilds), async (c) => {
    const parsed = guildsBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid(`Cannot grow the world: ${parsed.error.message}`), 400);
    if ('add' in parsed.data) return c.json({ added: sim.guilds.add(parsed.data.add) });
    sim.guilds.start({ perSecond: parsed.data.perSecond, ...(parsed.data.until === undefined ? {} : { until: parsed.data.until }) });
    return c.json({ perSecond: sim.guilds.perSecond });
  });
  app.get('/stats', describeRoute(DOCS.stats), (c) => c.json(sim.stats));
  app.post('/traffic', describeRoute(DOCS.traffic), async (c) => {
    const parsed = trafficBody.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json(invalid(`Cannot change traffic: ${parsed.error.message}`), 400);
    if ('emit' in parsed.data) return c.json({ emitted: sim.traffic.emit(parsed.data.emit) });
    if (parsed.data.eventsPerSecond === 0) sim.traffic.stop();
    else sim.traffic.start({ eventsPerSecond: parsed.data.eventsPerSecond });
    return c.json({ eventsPerSecond: sim.traffic.eventsPerSecond });
  });
  return app;
}

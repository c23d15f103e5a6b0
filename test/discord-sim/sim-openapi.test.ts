/**
 * GET /_sim/openapi.json: the simulated Discord's control routes as a valid OpenAPI 3.1
 * document, read off the simulator's own route table (every /_sim route, none other).
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';

describe('GET /_sim/openapi.json', () => {
  const discord = new FakeDiscord({ world: { seed: 3, guilds: 2, membersPerGuild: 2 } });
  let doc: { openapi: string; paths: Record<string, Record<string, { summary: string; requestBody?: unknown; 'x-undescribed'?: boolean }>> };

  beforeAll(async () => {
    await discord.start();
    const res = await fetch(`${discord.restUrl.replace(/\/api$/, '')}/_sim/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as typeof doc;
  });
  afterAll(() => discord.close());

  it('validates as OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(validator.version).toBe('3.1');
  });

  it('describes every /_sim route and only those', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));
    expect(operations.map((o) => o.key).sort()).toEqual([
      'GET /_sim/ledger/{shardId}',
      'GET /_sim/openapi.json',
      'GET /_sim/rest/stats',
      'GET /_sim/stats',
      'POST /_sim/faults',
      'POST /_sim/guilds',
      'POST /_sim/ledger/check',
      'POST /_sim/ledger/{shardId}/check',
      'POST /_sim/rest/forgive',
      'POST /_sim/traffic',
    ]);
    expect(operations.filter((o) => o.op['x-undescribed']).map((o) => o.key)).toEqual([]);
  });

  it('reaches a handler for every documented operation (never the 404 or 405 of an unknown route)', async () => {
    const origin = discord.restUrl.replace(/\/api$/, '');
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        // A malformed body for the POSTs: refused before it can start traffic or grow the world.
        const body = method === 'post' ? { body: '{', headers: { 'content-type': 'application/json' } } : {};
        const res = await fetch(`${origin}${path.replace('{shardId}', '0')}`, { method: method.toUpperCase(), ...body });
        const text = await res.text();
        expect(res.status, `${method} ${path}: ${text}`).not.toBe(405);
        expect(text, `${method} ${path}`).not.toMatch(/No route for|404: Not Found/);
        if ('requestBody' in op) expect(res.status, `${method} ${path}: ${text}`).toBe(400);
      }
    }
  });
});

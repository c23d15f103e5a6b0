/**
 * Gateway payloads come from the network: whatever a dispatch the host maps holds (a wrong
 * type in any field, fields missing, `d` not an object), turning it into cache rows must not
 * throw, and SQLite must accept every row it makes, so that one odd event can neither stop
 * its shard's stream nor make the funnel drop the rows and seq of the events batched with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteDriver } from '../core/sqlite.ts';
import { betterSqlite3Driver } from '../runtime/better-sqlite3-driver.ts';
import { MAPPED_DISPATCHES, mutatedDispatch, wellFormed } from '../../test/gateway/fuzz-payloads.ts';
import { guildIdOnShard } from '../../test/store/discord-fixtures.ts';
import { applyBatch } from './apply-batch.ts';
import { dispatchMutations } from './dispatch-mutations.ts';
import { runMigrations } from './migrate.ts';
import { MutationApplier } from './mutation-applier.ts';
import { openDatabase } from './open-database.ts';

const G = guildIdOnShard(1, 4);

describe('dispatch mapping under fuzzed payloads', () => {
  let dir: string;
  let db: SqliteDriver;
  let applier: MutationApplier;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-mapping-fuzz-'));
    db = openDatabase({ path: join(dir, 'shardline.db'), driverFactory: betterSqlite3Driver });
    await runMigrations(db);
    applier = new MutationApplier(db);
  });
  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps every well-formed payload to rows SQLite takes', () => {
    for (const t of MAPPED_DISPATCHES) {
      const mutations = dispatchMutations({ t, d: wellFormed(t, G) }, 1, 4);
      expect(applyBatch(db, applier, [{ shardId: 1, epoch: 1, mutations }], Date.now()).dropped, t).toEqual([]);
    }
  });

  it('never throws, and every row it makes is one SQLite takes, whatever the payload holds', () => {
    fc.assert(
      fc.property(mutatedDispatch(G), ({ t, d }) => {
        const mutations = dispatchMutations({ t, d }, 1, 4);
        // Replicas forward them as JSON.
        expect(JSON.parse(JSON.stringify(mutations))).toEqual(mutations);
        const applied = applyBatch(db, applier, [{ shardId: 1, epoch: 1, mutations }], Date.now());
        expect(applied.dropped, `${t} ${JSON.stringify(d).slice(0, 300)}`).toEqual([]);
      }),
      { numRuns: 2_000 },
    );
  });
});

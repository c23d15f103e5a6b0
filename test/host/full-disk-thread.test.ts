import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import type { Host } from '../../src/host.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { handledBy, recordingBot, testHost, type Recorded } from '../helpers/test-host.ts';

const SHARDS = 2;

/** A small tmpfs, so the disk really fills up; null when this process may not mount (not root). */
function mountSmallDisk(sizeMiB: number): { dir: string; unmount(): void } | null {
  const dir = mkdtempSync(join(tmpdir(), 'shardline-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    unmount() {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes until the file system says ENOSPC; returns the filler's path. */
function fillUp(dir: string): string {
  const path = join(dir, 'filler');
  const chunk = Buffer.alloc(64 * 1024, 1);
  const parts: Buffer[] = [];
  for (;;) {
    parts.push(chunk);
    try {
      writeFileSync(path, Buffer.concat(parts));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      parts.pop();
      writeFileSync(path, Buffer.concat(parts));
      return path;
    }
  }
}

describe('a real full disk under the transaction thread (the Node default)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('reports SQLITE_FULL, holds the shards back, loses nothing, and commits everything once space is freed', { timeout: 90_000 }, async (ctx) => {
    const disk = mountSmallDisk(16);
    // Mounting needs root (CI runs as root); elsewhere the injected-fault tests in bad-input.test.ts cover the funnel.
    if (!disk) return ctx.skip('cannot mount a tmpfs here (not root)');
    cleanups.push(() => disk.unmount());
    const discord = new FakeDiscord({ shards: SHARDS, maxConcurrency: SHARDS, identifySpacingMs: 10, heartbeatIntervalMs: 300, world: { seed: 9, guilds: 16, membersPerGuild: 20 } });
    await discord.start();
    cleanups.push(() => discord.close());
    const recorded: Recorded[] = [];
    const host: Host = testHost(discord, {
      dataDir: disk.dir,
      bot: recordingBot(undefined, recorded),
      funnelTuning: { highWaterRows: 400, flushThresholdRows: 200, retryBaseMs: 20, retryMaxMs: 200 },
    });
    cleanups.push(() => host.close());
    await host.start();
    const sequenced = (): number => Array.from({ length: SHARDS }, (_, s) => discord.ledger.eventCount(s)).reduce((a, b) => a + b, 0);
    const caughtUp = (): boolean => {
      const committed = new Map(host.query('SELECT shard_id, session_id, seq FROM shard_sessions').rows.map((r) => [Number(r[0]), `${String(r[1])}:${Number(r[2])}`]));
      return (
        host.status().funnel?.queuedEntries === 0 &&
        Array.from({ length: SHARDS }, (_, s) => discord.ledger.events(s).at(-1)).every((last, s) => last !== undefined && committed.get(s) === `${last.sessionId}:${last.seq}`)
      );
    };
    await waitFor(() => host.readiness().ready && caughtUp(), { timeoutMs: 30_000, message: 'ready and committed before the disk fills' });
    expect(host.status().funnel!.thread).toBe(true);

    const filler = fillUp(disk.dir);
    // Runs before host.close() (cleanups run in reverse): a host closes only once its last writes can commit.
    cleanups.push(() => rmSync(filler, { force: true }));
    discord.traffic.emit(3000);
    const failing = await waitFor(() => {
      const funnel = host.status().funnel!;
      return funnel.lastError?.code === 'STORE_UNAVAILABLE' && funnel.consecutiveFailures >= 2 && funnel.blockedEnqueues > 0 ? funnel : null;
    }, { timeoutMs: 30_000, message: 'funnel failing on the full disk and pushing back' });
    expect(failing.lastError!.message).toMatch(/SQLITE_FULL/);
    expect(failing.lastError!.message).toMatch(/kept queued, retrying/);
    expect(recorded.length).toBeLessThan(sequenced());
    // The shards stay up. Waited for, not sampled: a busy machine can miss a 300 ms heartbeat,
    // and the shard then reconnects and resumes, which is fine; a stopped one never comes back.
    await waitFor(() => host.status().shards.every((s) => s.status === 'ready' || s.status === 'resuming'), {
      message: () => `every shard ready or resuming on the full disk; now ${host.status().shards.map((s) => s.status).join(', ')}`,
    });

    rmSync(filler);
    await waitFor(() => recorded.length >= sequenced() && caughtUp(), { timeoutMs: 30_000, message: 'caught up once space is freed' });
    expect(host.status().funnel!.lastError).toBeNull();
    for (let shardId = 0; shardId < SHARDS; shardId++) {
      const check = discord.ledger.check(shardId, handledBy(recorded, shardId));
      expect(check.lost).toEqual([]);
      expect(check.duplicated).toEqual([]);
    }
    const members = [...discord.world.guilds.values()].reduce((n, g) => n + g.members.size, 0);
    expect(Number(host.query('SELECT count(*) FROM members').rows[0]![0])).toBe(members);
  });
});

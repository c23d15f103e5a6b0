import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDemoBot } from '../../src/demo/demo-bot.ts';
import { DemoCluster } from '../../src/demo/demo-cluster.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { unpackBundledChromium } from '../helpers/bundled-chromium.ts';
import { launchHeadlessChromium } from '../helpers/headless-chromium.ts';
import { tempDir } from '../helpers/test-host.ts';
import { waitFor } from '../helpers/wait-for.ts';

const TOKEN = 'browser-test-admin-token-0123456789';
/** Set to a path (docs/dashboard.png) to refresh the README's screenshot; otherwise a temp file. */
const SCREENSHOT = process.env['SHARDLINE_DASHBOARD_SCREENSHOT'];

/** Which node each shard row sits under on the page, read from the DOM. */
async function shardMapOnPage(page: Page): Promise<Map<number, string>> {
  const rows = await page.$$eval('section[aria-label="shard map"] [data-node] tr[data-shard]', (trs) =>
    trs.map((tr) => [Number(tr.getAttribute('data-shard')), tr.closest('[data-node]')!.getAttribute('data-node')!] as const),
  );
  return new Map(rows);
}

/** Which node runs each shard right now, from the hosts themselves. */
function shardMapInCluster(cluster: DemoCluster): Map<number, string> {
  const map = new Map<number, string>();
  for (const node of cluster.nodes) for (const runner of node.host.runners()) if (runner.shard.status === 'ready') map.set(runner.shardId, node.id);
  return map;
}

function sameMap(a: Map<number, string>, b: Map<number, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

describe('dashboard in a real browser (headless chromium)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  // The first run of a clone unpacks 210 MB of browser: done here, outside the test's own time.
  // A failure is left for the launch to report, with every browser it tried.
  beforeAll(async () => {
    if (!process.env['SHARDLINE_CHROMIUM']) await unpackBundledChromium().catch(() => undefined);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('logs in, shows every shard under its node, moves a shard with the move button and takes over', { timeout: 120_000 }, async () => {
    const dataDir = tempDir('shardline-dashboard-');
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const cluster = new DemoCluster({ runtime: createNodeRuntime(), dataDir, nodes: 3, port: 0, shards: 4, guilds: 6, members: 5, adminToken: TOKEN, bot: () => createDemoBot() });
    cleanups.push(() => cluster.close());
    await cluster.start({ timeoutMs: 60_000 });
    cluster.discord.traffic.start({ eventsPerSecond: 20 });

    const profile = tempDir('shardline-chromium-');
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    const { context, browser } = await launchHeadlessChromium(profile, { viewport: { width: 1440, height: 960 } });
    cleanups.push(() => context.close());
    console.log(`dashboard browser test: ${browser}`);
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });

    // A replica's dashboard: moves are forwarded to the primary, so any node's page works.
    const replica = cluster.nodes.find((n) => !n.host.isPrimary)!;
    await page.goto(`${replica.url}/`);
    await page.locator('form.login').waitFor();
    await page.fill('#token', 'a-wrong-token-of-enough-length');
    await page.click('form.login button[type="submit"]');
    await page.getByRole('alert').filter({ hasText: 'admin token' }).waitFor();
    // The refused login is a 401 document, which chromium reports on the console; nothing else may be.
    expect(problems.splice(0)).toEqual([expect.stringMatching(/status of 401/)]);
    await page.fill('#token', TOKEN);
    await page.click('form.login button[type="submit"]');
    await page.locator('section[aria-label="shard map"]').waitFor();
    const cookies = await context.cookies(replica.url);
    expect(cookies.find((c) => c.name === 'shardline_admin')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });

    // Every shard appears under the node that runs it (the page polls, the cluster may still rebalance).
    await waitFor(async () => {
      const truth = shardMapInCluster(cluster);
      return truth.size === 4 && sameMap(await shardMapOnPage(page), truth);
    }, { timeoutMs: 30_000, message: 'the page shows every shard under the node that runs it' });
    expect(await page.locator('[data-node] .badge.b-primary').count()).toBe(1);
    expect(await page.locator(`[data-node="${cluster.primary()!.id}"].primary`).count()).toBe(1);
    expect(await page.locator('section[aria-label="summary"] .stat').filter({ hasText: 'Event loop' }).count()).toBe(1);

    // Press "move" on a shard of one node and choose another node.
    // From the busiest node to the idlest, so the placement stays balanced and the
    // coordinator has no reason to move the shard again.
    const before = shardMapInCluster(cluster);
    const load = (id: string): number => [...before.values()].filter((owner) => owner === id).length;
    const ids = cluster.nodes.map((n) => n.id);
    const from = [...ids].sort((a, b) => load(b) - load(a))[0]!;
    const to = ids.filter((id) => id !== from).sort((a, b) => load(a) - load(b))[0]!;
    const shardId = [...before].find(([, owner]) => owner === from)![0];
    await page.click(`[data-node="${from}"] tr[data-shard="${shardId}"] button[data-action="move"]`);
    await page.locator('dialog[open]').getByText(`Move shard ${shardId}`).waitFor();
    await page.click(`dialog[open] button[data-choice="${to}"]`);

    await page.locator(`[data-node="${to}"] tr[data-shard="${shardId}"]`).waitFor({ timeout: 30_000 });
    await page.locator('.note.ok').filter({ hasText: `Move shard ${shardId} to ${to}: done` }).waitFor({ timeout: 30_000 });
    expect(await page.locator(`[data-node="${from}"] tr[data-shard="${shardId}"]`).count()).toBe(0);
    await page.locator('ol.timeline li[data-event="move"]').filter({ hasText: `shard ${shardId} moved ${from} → ${to}` }).first().waitFor({ timeout: 30_000 });
    await waitFor(() => shardMapInCluster(cluster).get(shardId) === to, { timeoutMs: 30_000, message: `shard ${shardId} runs on ${to}` });

    // The charts: events/s per node (one line each) and per shard, the replica's forwarding queue,
    // its staleness, and where the transaction time lives (only the primary commits).
    const charts = page.locator('section[aria-label="charts"]');
    await waitFor(async () => (await charts.locator('[data-chart="events-by-shard"] polyline').count()) === 4, { timeoutMs: 30_000, message: 'a line per shard on the events chart' });
    expect(await charts.locator('[data-chart]').evaluateAll((els) => els.map((e) => e.getAttribute('data-chart')))).toEqual(['events-by-node', 'events-by-shard', 'queue', 'transaction-ms', 'staleness']);
    expect((await charts.locator('[data-chart="events-by-node"] polyline').evaluateAll((els) => els.map((e) => e.getAttribute('data-series')))).sort()).toEqual(cluster.nodes.map((n) => n.id).sort());
    // A few samples (one every 2 s), so the lines on the screenshot are lines.
    await waitFor(async () => ((await charts.locator('[data-chart="events-by-shard"] polyline').first().getAttribute('points')) ?? '').split(' ').length >= 4, {
      timeoutMs: 30_000,
      message: 'four points on the first shard line',
    });
    await charts.locator('[data-chart="staleness"] polyline').waitFor();
    await charts.locator('[data-chart="queue"] h3').filter({ hasText: 'Writes waiting for the primary' }).waitFor();
    await charts.locator('[data-chart="transaction-ms"]').getByText('Only the primary commits').waitFor();
    expect(await charts.locator('svg[role="img"]').first().getAttribute('aria-label')).toMatch(/events\/s/);

    // Some traffic on the screenshot: every shard past its READY.
    await waitFor(async () => {
      const seqs = await page.$$eval('section[aria-label="shard map"] tr[data-shard] td:nth-child(4)', (tds) => tds.map((td) => Number(td.textContent)));
      return seqs.length === 4 && seqs.every((seq) => seq > 3);
    }, { timeoutMs: 30_000, message: 'the page shows traffic on every shard' });
    const shot = SCREENSHOT ?? join(profile, 'dashboard.png');
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');

    // "Take over" on the replica's page makes it the primary; the page follows.
    await page.click('header button[data-action="takeover"]');
    await page.click('dialog[open] button[data-choice="takeover"]');
    await page.locator(`[data-node="${replica.id}"].primary`).waitFor({ timeout: 30_000 });
    await page.locator('header .badge.b-primary').waitFor({ timeout: 30_000 });
    await page.locator('.note.ok').filter({ hasText: `Takeover on ${replica.id}: done` }).waitFor({ timeout: 30_000 });
    expect(await page.locator('header button[data-action="takeover"]').isDisabled()).toBe(true);
    await page.locator('ol.timeline li[data-event="takeover"]').filter({ hasText: `${replica.id} became the primary` }).first().waitFor({ timeout: 30_000 });
    expect(cluster.primary()?.id).toBe(replica.id);
    expect(problems).toEqual([]);
  });
});

import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import { unpackBundledChromium } from './bundled-chromium.ts';

/**
 * The flags every launch gets. The closed network here refuses the browser's background
 * connections (updates, sync, field trials, QUIC probes), which otherwise stall or spam the log;
 * the profile is a fresh --user-data-dir given by the caller.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface Candidate {
  readonly description: string;
  /** Resolves the executable and its environment; throws when this browser is not available. */
  readonly prepare: () => Promise<{ executablePath: string; env: Record<string, string> }>;
}

function candidates(): Candidate[] {
  const chosen = process.env['SHARDLINE_CHROMIUM'];
  if (chosen) {
    return [{ description: `SHARDLINE_CHROMIUM=${chosen}`, prepare: async () => {
      if (!existsSync(chosen)) throw new Error('no such file');
      return { executablePath: chosen, env: {} };
    } }];
  }
  // Only the npm one: a system browser is the user's choice (SHARDLINE_CHROMIUM), never a silent fallback.
  return [{ description: '@sparticuz/chromium (npm devDependency)', prepare: unpackBundledChromium }];
}

/** The first lines of a launch error, without Playwright's echo of the whole command line. */
function firstLines(error: unknown, lines = 10): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').filter((line) => !line.includes('<launching>')).slice(0, lines).join('\n      ');
}

/**
 * Launches a headless Chromium with a persistent context in `profileDir`: the one
 * SHARDLINE_CHROMIUM names if set, else the one the npm package @sparticuz/chromium ships.
 * Throws, naming every browser tried and why it did not start, when none does: a test
 * that needs a browser fails without one, it does not skip.
 */
export async function launchHeadlessChromium(
  profileDir: string,
  options: { viewport: { width: number; height: number } },
): Promise<{ context: BrowserContext; browser: string }> {
  const failures: string[] = [];
  for (const candidate of candidates()) {
    let prepared: { executablePath: string; env: Record<string, string> };
    try {
      prepared = await candidate.prepare();
    } catch (error) {
      failures.push(`${candidate.description}: ${firstLines(error)}`);
      continue;
    }
    try {
      const context = await chromium.launchPersistentContext(profileDir, {
        executablePath: prepared.executablePath,
        args: CHROMIUM_ARGS,
        headless: true,
        env: { ...process.env, ...prepared.env },
        viewport: options.viewport,
        timeout: 60_000,
      });
      const version = context.browser()?.version() ?? 'unknown version';
      const browser = `${candidate.description} at ${prepared.executablePath}, Chromium ${version}`;
      if (failures.length > 0) console.warn(`launched ${browser} after:\n  ${failures.join('\n  ')}`);
      return { context, browser };
    } catch (error) {
      failures.push(`${candidate.description} at ${prepared.executablePath} did not start: ${firstLines(error)}`);
    }
  }
  throw new Error(
    [
      'No headless Chromium could be started for the browser test. Tried:',
      ...failures.map((f) => `  - ${f}`),
      'What to do: run "npm install" (the devDependency @sparticuz/chromium ships Chromium and the libraries it needs, for Linux x64);',
      'elsewhere set SHARDLINE_CHROMIUM to a Chrome or Chromium executable (e.g. Debian\'s chromium package).',
    ].join('\n'),
  );
}

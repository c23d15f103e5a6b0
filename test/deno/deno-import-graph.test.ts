import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const deno = join(root, 'node_modules/.bin/deno');

// better-sqlite3 is a legacy V8 addon that Deno cannot load: the Deno entry must never reach it.
describe('the Deno entry point import graph', () => {
  it.skipIf(!existsSync(deno))('holds node:sqlite and no better-sqlite3 or Node runtime (skipped only when the deno npm package is not installed)', () => {
    const result = spawnSync(deno, ['info', '--json', 'src/runtime/deno-main.ts'], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    const graph = JSON.parse(result.stdout) as { modules: { specifier: string; dependencies?: { specifier: string }[] }[] };
    const specifiers = graph.modules.flatMap((m) => [m.specifier, ...(m.dependencies ?? []).map((d) => d.specifier)]);
    expect(specifiers.some((s) => s.endsWith('src/runtime/deno-runtime.ts'))).toBe(true);
    expect(specifiers).toContain('node:sqlite');
    expect(specifiers.filter((s) => /better-sqlite3|node-runtime\.ts|@types\/better/.test(s))).toEqual([]);
  }, 90_000);
});

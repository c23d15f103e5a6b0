import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const deno = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
const hasDeno = existsSync(deno);

// Node 20 has no node:sqlite, so the node:sqlite adapter's contract run happens in a real Deno.
describe('store contract on node:sqlite (Deno)', () => {
  it.skipIf(!hasDeno)('passes every case under deno test (skipped only when the deno npm package is not installed)', () => {
    const result = spawnSync(deno, ['test', '-A', '--no-check', 'test/store/node-sqlite.deno.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 120_000,
    });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output, output).toMatch(/ok \| \d+ passed \| 0 failed/);
    expect(result.status, output).toBe(0);
  }, 150_000);
});

/**
 * The layering rules of ARCHITECTURE.md, checked on the source text: src/core imports only
 * src/core; runtime-specific modules (ws, better-sqlite3, node:sqlite, process, Deno) only in
 * src/runtime and the simulated Discord's server (an adapter); no value import cycles.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

interface Module {
  readonly name: string;
  readonly text: string;
  /** Relative value imports (type-only imports leave no edge at run time). */
  readonly imports: string[];
  readonly specifiers: string[];
}

const IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

const modules: Module[] = sources(src).map((path) => {
  const text = readFileSync(path, 'utf8');
  const imports: string[] = [];
  const specifiers: string[] = [];
  for (const [, typeOnly, specifier] of text.matchAll(IMPORT)) {
    specifiers.push(specifier!);
    if (specifier!.startsWith('.') && !typeOnly) imports.push(relative(src, resolve(dirname(path), specifier!)));
  }
  return { name: relative(src, path), text, imports, specifiers };
});

const RUNTIME_ONLY = /^(ws|better-sqlite3|node:sqlite|node:process|process)$/;
const ADAPTERS = /^(runtime\/|discord-sim\/gateway-(server|connection)\.ts$)/;

describe('architecture', () => {
  it('reads the sources (a parser that finds nothing would pass everything)', () => {
    expect(modules.length).toBeGreaterThan(100);
    expect(modules.find((m) => m.name === 'host.ts')?.imports.length).toBeGreaterThan(5);
  });

  it('src/core imports only src/core', () => {
    const outward = modules.filter((m) => m.name.startsWith('core/')).flatMap((m) => m.imports.filter((i) => !i.startsWith('core/')).map((i) => `${m.name} -> ${i}`));
    expect(outward).toEqual([]);
  });

  it('only the runtime adapters import ws, better-sqlite3, node:sqlite or process, or touch Deno', () => {
    const misplaced = modules
      .filter((m) => !ADAPTERS.test(m.name))
      .flatMap((m) => [
        ...m.specifiers.filter((s) => RUNTIME_ONLY.test(s)).map((s) => `${m.name} imports ${s}`),
        ...(/\bDeno\.\w/.test(m.text) ? [`${m.name} uses Deno`] : []),
        ...(/\bprocess\.(env|exit|argv|on|cwd|stdout|stderr|pid)\b/.test(m.text) ? [`${m.name} uses process`] : []),
      ]);
    expect(misplaced).toEqual([]);
  });

  it('has no value import cycles', () => {
    const byName = new Map(modules.map((m) => [m.name, m]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const stack: string[] = [];
    const visit = (name: string): void => {
      state.set(name, 'open');
      stack.push(name);
      for (const next of byName.get(name)?.imports ?? []) {
        if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(name, 'done');
    };
    for (const m of modules) if (!state.has(m.name)) visit(m.name);
    expect(cycles).toEqual([]);
  });
});

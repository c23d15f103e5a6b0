import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateBot } from '../../src/bot-module.ts';

const read = (name: string): string => readFileSync(new URL(name, new URL('../../', import.meta.url)), 'utf8');

describe("README's bot example", () => {
  it('is the file the typecheck checks (test/deploy/readme-bot.ts), line for line', () => {
    const block = /```ts\n(import \{ defineBot \} from 'shardline';[\s\S]*?)```/.exec(read('README.md'));
    expect(block, 'README.md has a ts block that starts by importing defineBot from shardline').not.toBeNull();
    const file = read('test/deploy/readme-bot.ts')
      .split('\n')
      .filter((line) => !line.startsWith('//'))
      .join('\n')
      .replace("from '../../src/mod.ts';", "from 'shardline';");
    expect(file).toBe(block![1]);
  });

  it('is a bot module shardline accepts', async () => {
    const module = (await import('./readme-bot.ts')) as { default: unknown };
    expect(validateBot(module.default, 'README example')).toBe(module.default);
  });
});

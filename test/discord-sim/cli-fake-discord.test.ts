import { describe, expect, it } from 'vitest';
import { runFakeDiscordCommand } from '../../src/discord-sim/cli-fake-discord.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('shardline fake-discord (serving)', () => {
  it('prints the REST base URL first, serves until the signal aborts, then closes', async () => {
    const out: string[] = [];
    const controller = new AbortController();
    const running = runFakeDiscordCommand(['--guilds', '3', '--events-per-second', '50'], { stdout: (l) => out.push(l), stderr: () => {}, signal: controller.signal });
    await waitFor(() => out.length > 0);
    expect(out[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
    const res = await fetch(`${out[0]}/v10/gateway`);
    expect(await res.json()).toEqual({ url: out[0]!.replace(/^http/, 'ws').replace(/\/api$/, '') });
    controller.abort();
    expect(await running).toBe(0);
    await expect(fetch(`${out[0]}/v10/gateway`)).rejects.toThrow();
  });
});

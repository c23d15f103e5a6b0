import { runCli } from '../cli.ts';
import { denoApi } from './deno-api.ts';
import { createDenoRuntime } from './deno-runtime.ts';

// The process exits with the CLI's code once it returns; anything left running would be a bug,
// but a stuck handle must not keep a stopped node alive (the same rule as node-main.ts).
const deno = denoApi();
const code = await runCli(createDenoRuntime());
deno.exitCode = code;
deno.unrefTimer(setTimeout(() => deno.exit(code), 2_000) as unknown as number);

#!/usr/bin/env node
import { runCli } from '../cli.ts';
import { createNodeRuntime } from './node-runtime.ts';

// The process exits with the CLI's code once it returns; anything left running would be a bug,
// but a stuck handle must not keep a stopped node alive.
const code = await runCli(createNodeRuntime());
process.exitCode = code;
setTimeout(() => process.exit(code), 2_000).unref();

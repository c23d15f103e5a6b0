/**
 * `npm run soak -- [--seed N] [--faults N | --minutes M] [--nodes 3-5] [--shards N] [--events-per-second N] [--keep] [--verbose]`
 *
 * A seeded, randomized fault schedule against a simulated cluster, with every invariant checked
 * throughout (test/soak/soak-run.ts). Prints its seed first; the same seed replays the same
 * schedule. Ends with one JSON line; on a violation, prints the schedule up to it and exits 1.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runSoak, SoakFailure } from './soak-run.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    faults: { type: 'string' },
    minutes: { type: 'string' },
    nodes: { type: 'string', default: '4' },
    shards: { type: 'string', default: '8' },
    'events-per-second': { type: 'string', default: '100' },
    keep: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});

function intOption(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}, got ${text}`);
    process.exit(2);
  }
  return n;
}

const seed = intOption('seed', values.seed, 0, 2 ** 32 - 1) ?? Math.floor(Math.random() * 2 ** 31);
const faults = intOption('faults', values.faults, 1, 100_000);
const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
if (minutes !== undefined && !(minutes > 0)) {
  console.error(`--minutes must be a positive number, got ${values.minutes}`);
  process.exit(2);
}
const nodes = intOption('nodes', values.nodes, 3, 5)!;
const shards = intOption('shards', values.shards, 1, 64)!;
const eventsPerSecond = intOption('events-per-second', values['events-per-second'], 1, 10_000)!;
console.log(`soak seed ${seed}`);
try {
  const result = await runSoak({
    seed,
    ...(faults === undefined && minutes === undefined ? { faults: 60 } : {}),
    ...(faults === undefined ? {} : { faults }),
    ...(minutes === undefined ? {} : { minutes }),
    nodes,
    shards,
    eventsPerSecond,
    dir: mkdtempSync(join(tmpdir(), 'shardline-soak-')),
    keepDir: values.keep,
    verbose: values.verbose,
    print: (line) => console.log(line),
  });
  console.log(JSON.stringify(result));
  process.exit(0);
} catch (error) {
  if (error instanceof SoakFailure) {
    console.error(error.report);
    process.exit(1);
  }
  throw error;
}

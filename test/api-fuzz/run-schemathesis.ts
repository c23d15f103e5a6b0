/**
 * `npm run fuzz:api`: schemathesis drives every route of a running cluster (three nodes, the
 * simulated Discord and the simulated LiteFS, in this process) with the nodes' own
 * GET /openapi.json and the simulator's GET /_sim/openapi.json.
 *
 *   refused     every operation, invalid requests only (schema violations, no or wrong
 *               credentials): each must be refused with a 4xx, and every node's GET /status
 *               (less what moves by itself) and the database must be the same afterwards
 *   safe        every operation that does not change the cluster's shape, valid and invalid
 *               requests, on a replica and on the primary: no 5xx at all
 *   dangerous   takeovers, moves, drains, handoffs, reshards, heartbeats and identifies of
 *               made-up nodes, held writes: the cluster is thrown away afterwards; a 503 or
 *               504 is allowed where the document lists it (a write held while the lease
 *               moves, a wait that ran out), and its body must name a listed code
 *   simulator   the simulated Discord's /_sim control routes
 *
 * Every phase also checks answers against the document (status, content type, schema,
 * headers) and that guarded routes refuse missing credentials. The document's path
 * parameters get this cluster's node and shard ids as examples, so that the examples phase
 * reaches past "no such node".
 *
 * Options: --seed N (default 1), --max-examples N (per operation, default 25),
 * --phases refused,safe,dangerous,simulator. SCHEMATHESIS_BIN names the executable; without it
 * scripts/install-schemathesis.sh installs (or reuses) a pinned one. Ends with one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeDiscord } from '../../src/discord-sim/fake-discord.ts';
import { ADMIN_TOKEN, CLUSTER_SECRET, SimCluster } from '../helpers/sim-cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { clusterState, stateDiff } from './cluster-state.ts';
import { CHECKS, runSchemathesis, type RunReport } from './schemathesis.ts';

type Doc = { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;
interface Operation {
  parameters?: { name: string; in: string; schema: Record<string, unknown> }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  'x-dangerous'?: boolean;
  [key: string]: unknown;
}
type Schema = { properties?: Record<string, Record<string, unknown>>; anyOf?: Schema[]; oneOf?: Schema[] } & Record<string, unknown>;

/** This cluster's ids, and the admin token for the login form's example (null: no valid login). */
interface Ids {
  readonly nodes: readonly string[];
  readonly shards: readonly string[];
  readonly token: string | null;
}

const PHASES = ['refused', 'safe', 'dangerous', 'simulator'] as const;
type Phase = (typeof PHASES)[number];

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const seed = Number(option('seed', '1'));
const maxExamples = Number(option('max-examples', '25'));
const phases = option('phases', PHASES.join(',')).split(',') as Phase[];
for (const p of phases) if (!PHASES.includes(p)) throw new Error(`Unknown phase ${p}: choose from ${PHASES.join(', ')}`);

function schemathesisBin(): string {
  if (process.env['SCHEMATHESIS_BIN']) return process.env['SCHEMATHESIS_BIN'];
  const script = fileURLToPath(new URL('../../scripts/install-schemathesis.sh', import.meta.url));
  const out = execFileSync(script, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

/** A copy of `doc` with only the operations `keep` selects, and examples of this cluster's ids. */
function fuzzDocument(doc: Doc, keep: (op: Operation) => boolean, ids: Ids): Doc {
  const copy = structuredClone(doc);
  for (const [path, methods] of Object.entries(copy.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!keep(op)) {
        delete methods[method];
        continue;
      }
      for (const param of op.parameters ?? []) {
        if (param.in !== 'path') continue;
        const examples = path.includes('/nodes/') ? ids.nodes : ids.shards;
        param.schema = { ...param.schema, examples };
      }
      for (const media of Object.values(op.requestBody?.content ?? {})) addBodyExamples(media.schema, ids);
    }
    if (Object.keys(methods).length === 0) delete copy.paths[path];
  }
  return copy;
}

function addBodyExamples(schema: Schema, ids: Ids): void {
  for (const alt of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) addBodyExamples(alt, ids);
  const props = schema.properties ?? {};
  for (const name of ['to', 'nodeId', 'leaving']) if (props[name]) props[name] = { ...props[name], examples: ids.nodes };
  if (props['token'] && ids.token) props['token'] = { ...props['token'], examples: [ids.token] };
}

function config(dir: string, name: string, allow5xx: readonly string[], tokens: { admin: string; secret: string } | null = { admin: ADMIN_TOKEN, secret: CLUSTER_SECRET }): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      ...(tokens ? ['[auth.openapi.adminBearer]', `bearer = "${tokens.admin}"`, '[auth.openapi.clusterSecret]', `bearer = "${tokens.secret}"`, ''] : []),
      '[checks.not_a_server_error]',
      `expected-statuses = ${JSON.stringify(['2xx', '3xx', '4xx', ...allow5xx])}`,
      '',
      // Not ready is an answer of its own (503 with the reasons), documented as such.
      '[[operations]]',
      'include-path = "/readyz"',
      'checks.not_a_server_error.expected-statuses = ["2xx", "3xx", "4xx", "503"]',
      '',
    ].join('\n'),
  );
  return file;
}

async function main(): Promise<void> {
  const started = Date.now();
  const bin = schemathesisBin();
  // FUZZ_API_KEEP=1 keeps the documents, reports and a cassette of every request (printed at the end).
  const keep = process.env['FUZZ_API_KEEP'] === '1';
  const dir = mkdtempSync(join(tmpdir(), 'shardline-fuzz-api-'));
  const cluster = new SimCluster({ shardCount: 4 });
  const reports: RunReport[] = [];
  const problems: string[] = [];
  let stateUnchanged: boolean | null = null;
  try {
    const nodeIds = ['node-a', 'node-b', 'node-c'];
    await cluster.start(nodeIds);
    await waitFor(() => cluster.running().size === 4 && [...cluster.nodes.values()].every((n) => n.host.readiness().ready), {
      timeoutMs: 120_000,
      message: () => `cluster not ready:\n${cluster.dump()}`,
    });
    const nodes = nodeIds.map((id) => ({ id, url: cluster.node(id).host.url! }));
    const primary = cluster.primary()!;
    const replica = nodes.find((n) => n.id !== primary.id)!;
    const ids: Ids = { nodes: nodeIds, shards: ['0', '1', '2', '3'], token: ADMIN_TOKEN };
    const nodeDoc = (await (await fetch(`${primary.host.url}/openapi.json`)).json()) as Doc;
    const write = (name: string, doc: Doc): string => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(doc));
      return file;
    };
    const strict = config(dir, 'strict.toml', []);
    const chaos = config(dir, 'chaos.toml', ['503', '504']);
    const simConfig = config(dir, 'sim.toml', [], null);
    const hooksDir = fileURLToPath(new URL('.', import.meta.url));
    // A document of some operations only makes the others look unserved: which methods a path
    // answers is checked on whole documents (the refused and simulator phases).
    const partial = CHECKS.filter((c) => c !== 'unsupported_method' && c !== 'allow_header_conformance');
    const run = async (label: string, schemaFile: string, baseUrl: string, configFile: string, mode: 'negative' | 'positive' | 'all', checks: readonly string[] = CHECKS, hooks?: string) => {
      // Examples are valid requests: a run of invalid ones leaves them out, and its hooks drop every valid case.
      const phases = mode === 'negative' ? (['coverage', 'fuzzing'] as const) : (['examples', 'coverage', 'fuzzing'] as const);
      const report = await runSchemathesis({ bin, label, schemaFile, baseUrl, configFile, mode, phases, checks, maxExamples, ...(hooks ? { hooksModule: { dir: hooksDir, name: hooks } } : {}), seed, reportFile: join(dir, `${label.replace(/\W+/g, '-')}.json`), ...(keep ? { cassette: join(dir, `${label.replace(/\W+/g, '-')}.yaml`) } : {}), deadlineMs: 15 * 60_000, workDir: dir });
      reports.push(report);
      if (report.exitCode !== 0) problems.push(`${label}: schemathesis ${report.timedOut ? 'ran past its deadline' : `exited ${report.exitCode}`} (${report.failures.map((f) => `${f.code} ${f.title} x${f.count}`).join(', ') || `${report.errors} errors`})`);
      return report;
    };

    if (phases.includes('refused')) {
      const before = await clusterState(nodes, ADMIN_TOKEN, primary.host.url!);
      const all = write('refused.json', fuzzDocument(nodeDoc, () => true, { ...ids, token: null }));
      await run('refused: invalid', all, primary.host.url!, strict, 'negative', CHECKS, 'refused_only');
      // Valid requests with the other realm's token, and with none: every guarded route must refuse them.
      await run('refused: swapped tokens', all, primary.host.url!, config(dir, 'swapped.toml', [], { admin: CLUSTER_SECRET, secret: ADMIN_TOKEN }), 'positive');
      await run('refused: no credentials', all, primary.host.url!, config(dir, 'none.toml', [], null), 'positive');
      const after = await clusterState(nodes, ADMIN_TOKEN, primary.host.url!);
      const diff = stateDiff(before, after);
      stateUnchanged = diff.length === 0;
      if (!stateUnchanged) problems.push(`refused requests changed the cluster:\n${diff.join('\n')}`);
      else process.stdout.write(`\nrefused requests changed nothing: ${Object.keys(after.statuses).length} nodes' status and ${Object.keys(after.database).length} tables compared\n`);
    }
    if (phases.includes('safe')) {
      const safe = write('safe.json', fuzzDocument(nodeDoc, (op) => !op['x-dangerous'], ids));
      await run('safe (node replica)', safe, replica.url, strict, 'all', partial);
      await run('safe (node primary)', safe, primary.host.url!, strict, 'all', partial);
    }
    if (phases.includes('dangerous')) {
      await run('dangerous (node replica)', write('dangerous.json', fuzzDocument(nodeDoc, (op) => op['x-dangerous'] === true, ids)), replica.url, chaos, 'all', partial, 'bounded_waits');
    }
    if (phases.includes('simulator')) {
      // A simulator of its own: the control routes take values (100 000 guilds at once, ten
      // million events) that keep a simulator and every node sharing its process busy for minutes.
      const sim = new FakeDiscord({ world: { seed: 5, guilds: 8, membersPerGuild: 5 } });
      await sim.start();
      try {
        const origin = sim.restUrl.replace(/\/api$/, '');
        const simDoc = (await (await fetch(`${origin}/_sim/openapi.json`)).json()) as Doc;
        await run('simulator', write('sim.json', fuzzDocument(simDoc, () => true, ids)), origin, simConfig, 'all');
      } finally {
        await sim.close();
      }
    }
  } finally {
    await cluster.close().catch((error: unknown) => problems.push(`closing the cluster failed: ${String(error)}`));
    if (keep) process.stdout.write(`documents, reports and cassettes kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }

  process.stdout.write('\n=== API fuzz\n');
  process.stdout.write(`${'phase'.padEnd(28)} ${'ops'.padStart(4)} ${'cases'.padStart(7)} ${'failures'.padStart(9)} ${'seconds'.padStart(8)}\n`);
  for (const r of reports) {
    process.stdout.write(`${r.label.padEnd(28)} ${String(r.operations).padStart(4)} ${String(r.cases).padStart(7)} ${String(r.failures.reduce((n, f) => n + f.count, 0)).padStart(9)} ${String(r.seconds).padStart(8)}\n`);
  }
  for (const p of problems) process.stdout.write(`FAILED: ${p}\n`);
  const failures = reports.reduce((n, r) => n + r.failures.reduce((m, f) => m + f.count, 0) + r.errors, 0);
  const summary = {
    schemathesis: reports.length > 0 ? 'ok' : 'not run',
    seed,
    maxExamples,
    phases: reports.map((r) => ({ phase: r.label, operations: r.operations, cases: r.cases, failures: r.failures.reduce((n, f) => n + f.count, 0), seconds: r.seconds })),
    operations: { node: Math.max(0, ...reports.filter((r) => !r.label.startsWith('simulator')).map((r) => r.operations)), simulator: reports.find((r) => r.label === 'simulator')?.operations ?? 0 },
    cases: reports.reduce((n, r) => n + r.cases, 0),
    failures,
    stateUnchanged,
    minutes: Math.round((Date.now() - started) / 6_000) / 10,
  };
  if (problems.length > 0) summary.schemathesis = 'failed';
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}

await main();

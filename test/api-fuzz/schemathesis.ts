import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The checks every run makes (schemathesis names). */
export const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'response_headers_conformance',
  'negative_data_rejection',
  'ignored_auth',
  'missing_required_header',
  'unsupported_method',
  'allow_header_conformance',
] as const;
/*
 * Left out, and why: positive_data_acceptance (a schema-valid request may still be refused by
 * the cluster's state: shard 9 of 4, a move to the node that has it, a reshard to the current
 * count); use_after_free, ensure_resource_availability and object_level_authorization (they
 * follow created resources and users across operations: this API creates none and has one
 * principal per realm); max_response_time (timings are for bench/, never for checks).
 */

export interface RunOptions {
  readonly bin: string;
  readonly label: string;
  /** An OpenAPI document (file) and the base URL its operations are called at. */
  readonly schemaFile: string;
  readonly baseUrl: string;
  readonly configFile: string;
  readonly mode: 'positive' | 'negative' | 'all';
  readonly maxExamples: number;
  readonly seed: number;
  readonly reportFile: string;
  /** The whole run is stopped past this (a hang is a failure, never a wait). */
  readonly deadlineMs: number;
  /** Default CHECKS. */
  readonly checks?: readonly string[];
  readonly workDir: string;
  /** Schemathesis's phases; the examples phase sends the document's examples, valid ones, whatever the mode. */
  readonly phases: readonly ('examples' | 'coverage' | 'fuzzing')[];
  /** Also write every request and answer there (a VCR cassette), to see what a run did. */
  readonly cassette?: string;
  readonly hooksModule?: { readonly dir: string; readonly name: string };
}

export interface RunReport {
  readonly label: string;
  readonly exitCode: number;
  readonly seconds: number;
  readonly operations: number;
  readonly cases: number;
  readonly failures: readonly { readonly code: string; readonly title: string; readonly count: number; readonly operations: readonly string[] }[];
  readonly errors: number;
  readonly timedOut: boolean;
}

interface JsonReport {
  operations: { tested: number };
  test_cases: { generated: number };
  failures: { code: string; title: string; count: number; operations: string[] }[];
  errors: unknown[];
}

/** Runs `schemathesis run` with its output on this process's, and reads its JSON report. */
export async function runSchemathesis(o: RunOptions): Promise<RunReport> {
  const args = [
    '--config-file',
    o.configFile,
    'run',
    o.schemaFile,
    '--url',
    o.baseUrl,
    '--mode',
    o.mode,
    '--max-examples',
    String(o.maxExamples),
    '--seed',
    String(o.seed),
    '--phases',
    o.phases.join(','),
    '--checks',
    (o.checks ?? CHECKS).join(','),
    '--workers',
    '1',
    '--request-timeout',
    '20',
    '--generation-database',
    'none',
    '--no-color',
    '--report',
    o.cassette ? 'json,vcr' : 'json',
    '--report-json-path',
    o.reportFile,
    ...(o.cassette ? ['--report-vcr-path', o.cassette] : []),
  ];
  const started = Date.now();
  process.stdout.write(`\n=== schemathesis: ${o.label} (${o.mode}, ${o.maxExamples} examples per operation, seed ${o.seed})\n`);
  const env = { ...process.env, ...(o.hooksModule ? { SCHEMATHESIS_HOOKS: o.hooksModule.name, PYTHONPATH: o.hooksModule.dir } : {}) };
  // In the run's own directory: schemathesis keeps a crash cache in its working directory.
  const child = spawn(o.bin, args, { stdio: ['ignore', 'inherit', 'inherit'], env, cwd: o.workDir });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, o.deadlineMs);
  const exitCode = await new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  clearTimeout(timer);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  let report: JsonReport | null = null;
  try {
    report = JSON.parse(readFileSync(o.reportFile, 'utf8')) as JsonReport;
  } catch {
    report = null;
  }
  return {
    label: o.label,
    exitCode: timedOut ? -1 : exitCode,
    seconds,
    operations: report?.operations.tested ?? 0,
    cases: report?.test_cases.generated ?? 0,
    failures: report?.failures.map((f) => ({ code: f.code, title: f.title, count: f.count, operations: f.operations })) ?? [],
    errors: report?.errors.length ?? 0,
    timedOut,
  };
}

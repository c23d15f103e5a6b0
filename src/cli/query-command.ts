import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ShardlineError } from '../core/errors.ts';
import type { Runtime } from '../core/runtime.ts';
import { openDatabase } from '../store/open-database.ts';
import { runReadOnlyQuery } from '../store/queries.ts';
import { queryResultJson } from '../store/result-json.ts';
import { adminTarget, callAdminApi } from './admin-api.ts';
import { formatTable } from './format-table.ts';

export const QUERY_USAGE = `Usage: shardline query [options] "<sql>" [param...]

Runs one read-only statement against this node's database (a LiteFS replica or the
embedded database) and prints the rows. Statements that write are refused.

Options:
  --data-dir <dir>    database directory (default $SHARDLINE_DATA_DIR or ./.data)
  --db-file <name>    database file name (default $SHARDLINE_DB_FILE or shardline.db)
  --url <url>         ask a running node instead, through its admin API (POST /query, in its
                      query process; the token is read from $SHARDLINE_ADMIN_TOKEN)
  --max-rows <n>      rows printed at most (default 100; at most 10000 with --url)
  --max-bytes <n>     the result's size as JSON at most (default 4194304, at most 33554432 with
                      --url); a larger one is refused, never cut short
  --json              print {columns, rows, truncated} as JSON instead of a table (a BLOB is
                      {"$blob": "<base64>"})`;

/** The API's own bound on a statement's time; the local connection gets the same. */
const QUERY_TIMEOUT_MS = 10_000;

export async function runQueryCommand(argv: readonly string[], runtime: Pick<Runtime, 'env' | 'sqlite' | 'stdout' | 'stderr'>, fetchImpl: typeof fetch = fetch): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { 'data-dir': { type: 'string' }, 'db-file': { type: 'string' }, url: { type: 'string' }, 'max-rows': { type: 'string' }, 'max-bytes': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' } },
    });
  } catch (error) {
    throw new ShardlineError('INVALID_INPUT', `${(error as Error).message}\n\n${QUERY_USAGE}`);
  }
  if (parsed.values.help) {
    runtime.stdout(`${QUERY_USAGE}\n`);
    return 0;
  }
  const [sql, ...params] = parsed.positionals;
  if (!sql) throw new ShardlineError('INVALID_INPUT', `Missing the SQL statement\n\n${QUERY_USAGE}`);
  const maxRows = Number(parsed.values['max-rows'] ?? 100);
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new ShardlineError('INVALID_INPUT', `--max-rows must be a positive integer, got ${JSON.stringify(parsed.values['max-rows'])}`);
  const maxBytes = Number(parsed.values['max-bytes'] ?? 4 * 1024 * 1024);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new ShardlineError('INVALID_INPUT', `--max-bytes must be a positive integer, got ${JSON.stringify(parsed.values['max-bytes'])}`);
  const print = (result: { columns: string[]; rows: unknown[][]; truncated: boolean }, json?: string): void => {
    if (parsed.values.json) {
      runtime.stdout(`${json ?? queryResultJson(result)}\n`);
    } else {
      runtime.stdout(`${formatTable(result.columns, result.rows)}\n(${result.rows.length} row${result.rows.length === 1 ? '' : 's'}${result.truncated ? `, truncated at ${maxRows}` : ''})\n`);
    }
  };
  if (parsed.values.url !== undefined) {
    if (parsed.values['data-dir'] !== undefined || parsed.values['db-file'] !== undefined) {
      throw new ShardlineError('INVALID_INPUT', `--url asks a running node; --data-dir and --db-file name a local database: give one or the other\n\n${QUERY_USAGE}`);
    }
    const target = adminTarget(parsed.values.url, runtime.env);
    if (!target.ok) throw new ShardlineError('INVALID_INPUT', target.problem);
    const answer = await callAdminApi(fetchImpl, target.base, target.token, 'POST', '/query', { sql, params: params.map(coerceParam), maxRows, timeoutMs: QUERY_TIMEOUT_MS, maxBytes }, QUERY_TIMEOUT_MS + 5_000);
    if (!answer.ok) {
      runtime.stderr(`shardline: ${answer.message}\n`);
      return 1;
    }
    print(answer.json as { columns: string[]; rows: unknown[][]; truncated: boolean });
    return 0;
  }
  const dir = parsed.values['data-dir'] ?? runtime.env['SHARDLINE_DATA_DIR'] ?? '.data';
  const path = join(dir, parsed.values['db-file'] ?? runtime.env['SHARDLINE_DB_FILE'] ?? 'shardline.db');
  if (!existsSync(path)) throw new ShardlineError('NOT_FOUND', `No database at ${path}: start a node first, or point --data-dir at its data directory`);
  const db = openDatabase({ path, readonly: true, driverFactory: runtime.sqlite });
  try {
    print(runReadOnlyQuery(db, sql, params.map(coerceParam), { maxRows, timeoutMs: QUERY_TIMEOUT_MS, maxBytes }));
    return 0;
  } finally {
    db.close();
  }
}

/** CLI parameters arrive as text; numbers stay numbers so `where id = ?` compares like SQL expects. */
function coerceParam(text: string): string | number | null {
  if (text === 'NULL') return null;
  return /^-?\d{1,15}$/.test(text) ? Number(text) : text;
}

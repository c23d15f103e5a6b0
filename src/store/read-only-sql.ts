/**
 * A conservative check that a piece of SQL only reads. It is the second lock on the SQL query
 * API's door (the first is a read-only connection): one statement, starting with a reading
 * keyword, no writing keyword anywhere outside string literals and quoted identifiers.
 * False negatives (refusing a harmless query) are acceptable; false positives are not.
 */

const READING_STARTS = new Set(['SELECT', 'WITH', 'VALUES', 'EXPLAIN']);

/** Any of these as a bare word means the statement may write or change the connection. */
const WRITING_WORDS = new Set([
  'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'UPSERT', 'DROP', 'CREATE', 'ALTER', 'ATTACH', 'DETACH', 'VACUUM',
  'REINDEX', 'ANALYZE', 'PRAGMA', 'BEGIN', 'COMMIT', 'ROLLBACK', 'SAVEPOINT', 'RELEASE', 'TRUNCATE', 'INTO',
]);

/**
 * Pragmas that only report, in their `PRAGMA name` or `PRAGMA name(arg)` form (never `= value`).
 * journal_mode is left out: even its query form can change the mode, and SQLite marks it as writing.
 */
const READING_PRAGMAS = new Set([
  'table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list',
  'database_list', 'collation_list', 'function_list', 'module_list', 'pragma_list', 'compile_options',
  'user_version', 'schema_version', 'page_count', 'page_size', 'freelist_count', 'encoding',
  'foreign_keys', 'busy_timeout', 'data_version', 'application_id',
]);
/** Of those, the ones whose parenthesised argument is an object name, not a new value. */
const ARGUMENT_PRAGMAS = new Set(['table_info', 'table_xinfo', 'table_list', 'index_list', 'index_info', 'index_xinfo', 'foreign_key_list']);

interface Scan {
  /** Bare words and punctuation, upper-cased, literals and comments removed. */
  tokens: string[];
  /** A `;` followed by anything but whitespace and comments. */
  multiple: boolean;
  /** An unterminated quote or comment. */
  broken: boolean;
}

function scan(sql: string): Scan {
  const tokens: string[] = [];
  let multiple = false;
  let sawTerminator = false;
  let i = 0;
  const push = (token: string): void => {
    if (sawTerminator) multiple = true;
    tokens.push(token);
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) return { tokens, multiple, broken: true };
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) return { tokens, multiple, broken: true };
        if (sql[j] === close) {
          if (close !== ']' && sql[j + 1] === close) {
            j += 2;
            continue;
          }
          break;
        }
        j += 1;
      }
      push(c === "'" ? "'literal'" : '"identifier"');
      i = j + 1;
    } else if (c === ';') {
      sawTerminator = true;
      i += 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))!;
      push(m[0].toUpperCase());
      i += m[0].length;
    } else {
      push(c);
      i += 1;
    }
  }
  return { tokens, multiple, broken: false };
}

export function isReadOnlyStatement(sql: string): boolean {
  if (typeof sql !== 'string') return false;
  const { tokens, multiple, broken } = scan(sql);
  if (broken || multiple || tokens.length === 0) return false;
  const first = tokens[0]!;
  if (first === 'PRAGMA') return isReadingPragma(tokens);
  if (!READING_STARTS.has(first)) return false;
  // replace(x, y, z) is a scalar function; REPLACE as a statement is never followed by '('.
  return !tokens.some((token, i) => WRITING_WORDS.has(token) && !(token === 'REPLACE' && tokens[i + 1] === '('));
}

function isReadingPragma(tokens: string[]): boolean {
  // PRAGMA [schema .] name [ ( arg ) ]
  let i = 1;
  if (tokens[i + 1] === '.') i += 2;
  const name = tokens[i]?.toLowerCase();
  if (!name || !READING_PRAGMAS.has(name)) return false;
  const rest = tokens.slice(i + 1);
  if (rest.length === 0) return true;
  if (!ARGUMENT_PRAGMAS.has(name)) return false;
  return rest.length === 3 && rest[0] === '(' && rest[2] === ')' && rest[1] !== undefined && (rest[1] === '"identifier"' || rest[1] === "'literal'" || /^[A-Z_][A-Z0-9_$]*$/.test(rest[1]));
}

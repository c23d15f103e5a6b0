import { ShardlineError } from '../core/errors.ts';

/**
 * The validated configuration of one node. Built once at start-up from environment
 * variables and command-line flags (flags win); every later component receives it frozen.
 * Secrets (token, admin token, cluster secret) are only ever read from the environment so
 * they never show up in `ps` output.
 */
export interface Config {
  readonly token: string;
  /** REST base, e.g. https://discord.com/api or the simulator's http://127.0.0.1:P/api */
  readonly apiUrl: string;
  /** 'auto' asks GET /gateway/bot for the recommended count. */
  readonly shardCount: number | 'auto';
  /** Extra intents OR-ed onto the bot module's own. */
  readonly intents: number | null;
  readonly dataDir: string;
  readonly dbFile: string;
  readonly httpHost: string;
  readonly httpPort: number;
  /** Path or specifier of the user's bot module; null runs the host with no handlers. */
  readonly botModule: string | null;
  readonly nodeId: string;
  readonly adminToken: string | null;
  readonly clusterSecret: string | null;
  readonly logLevel: string;
  readonly flushIntervalMs: number;
  /** Where the write funnel's transactions run: 'thread' (default where the runtime has threads) or 'inline' (the event loop). */
  readonly writeFunnel: 'thread' | 'inline';
  /** The local LiteFS HTTP API; null runs the embedded single node (always primary). */
  readonly litefsUrl: string | null;
  /** Where other nodes reach this node's HTTP API; null derives it from host and port. */
  readonly advertiseUrl: string | null;
  /** A node is declared dead after this long without heartbeats. */
  readonly nodeTimeoutMs: number;
  /**
   * How long a node told to stop (SIGINT/SIGTERM) spends leaving the cluster: handing the lease
   * on and having its shards moved by resume. Whatever is left then is detached resumably.
   */
  readonly leaveTimeoutMs: number;
  /** The bot token's global REST limit, requests per second, shared by every node (Discord's default is 50). */
  readonly restGlobalLimit: number;
  /** Invalid REST answers (401, 403, 429) per 10 minutes that get an IP banned; the cluster slows down well before. */
  readonly restInvalidLimit: number;
  /** Reshard by itself once /gateway/bot recommends this multiple of the current count; 0 never. */
  readonly reshardThreshold: number;
  /** How often the primary asks /gateway/bot for the recommended count; 0 never. */
  readonly reshardCheckMs: number;
  /** Reshard by itself when Discord closes a shard with 4011 (sharding required). */
  readonly reshardOn4011: boolean;
  /** Large bots: the shard count must be a multiple of the number Discord gave them. */
  readonly shardMultiple: number;
}

export const DEFAULT_API_URL = 'https://discord.com/api';
/** A little under fly.toml's kill_timeout (30 s): the rest of the stop (closing pools, LiteFS unmounting) fits in what remains. */
export const DEFAULT_LEAVE_TIMEOUT_MS = 25_000;

/** One row per setting: the env name, the flag, and how to parse it. Walked by tests and `--help`. */
export const CONFIG_SETTINGS = [
  { key: 'token', env: 'DISCORD_TOKEN', flag: null, help: 'Bot token (environment only, never a flag)' },
  { key: 'apiUrl', env: 'DISCORD_API_URL', flag: '--api-url', help: `Discord REST base URL (default ${DEFAULT_API_URL})` },
  { key: 'shardCount', env: 'SHARD_COUNT', flag: '--shards', help: "Total shard count, or 'auto' (default auto)" },
  { key: 'intents', env: 'SHARDLINE_INTENTS', flag: '--intents', help: 'Intents bitfield added to the bot module\'s own' },
  { key: 'dataDir', env: 'SHARDLINE_DATA_DIR', flag: '--data-dir', help: 'Directory of the database (default ./.data; on LiteFS the mount)' },
  { key: 'dbFile', env: 'SHARDLINE_DB_FILE', flag: '--db-file', help: 'Database file name inside the data directory (default shardline.db)' },
  { key: 'httpHost', env: 'SHARDLINE_HTTP_HOST', flag: '--host', help: 'Interface of the HTTP API (default 127.0.0.1)' },
  { key: 'httpPort', env: 'SHARDLINE_HTTP_PORT', flag: '--port', help: 'Port of the HTTP API (default 8080; 0 picks a free one)' },
  { key: 'botModule', env: 'SHARDLINE_BOT', flag: '--bot', help: 'Path of the bot module (default export from defineBot)' },
  { key: 'nodeId', env: 'SHARDLINE_NODE_ID', flag: '--node-id', help: 'Name of this node in the cluster (default the host name)' },
  { key: 'adminToken', env: 'SHARDLINE_ADMIN_TOKEN', flag: null, help: 'Bearer token of the admin API (environment only; unset disables it)' },
  { key: 'clusterSecret', env: 'SHARDLINE_CLUSTER_SECRET', flag: null, help: 'Shared secret of the internal cluster API (environment only)' },
  { key: 'logLevel', env: 'SHARDLINE_LOG_LEVEL', flag: '--log-level', help: 'trace, debug, info, warn, error (default info)' },
  { key: 'flushIntervalMs', env: 'SHARDLINE_FLUSH_MS', flag: '--flush-ms', help: 'Write funnel flush interval in ms (default 50)' },
  { key: 'writeFunnel', env: 'SHARDLINE_WRITE_FUNNEL', flag: '--write-funnel', help: "'thread': SQLite transactions on a worker thread (default, Node and Deno); 'inline': on the event loop" },
  { key: 'litefsUrl', env: 'SHARDLINE_LITEFS_URL', flag: '--litefs-url', help: 'LiteFS HTTP API of this node (e.g. http://127.0.0.1:20202); unset = embedded single node' },
  { key: 'advertiseUrl', env: 'SHARDLINE_ADVERTISE_URL', flag: '--advertise-url', help: 'URL other nodes reach this node at (default http://<host>:<port>)' },
  { key: 'nodeTimeoutMs', env: 'SHARDLINE_NODE_TIMEOUT_MS', flag: '--node-timeout-ms', help: 'A node is dead after this long without heartbeats (default 5000)' },
  { key: 'leaveTimeoutMs', env: 'SHARDLINE_LEAVE_TIMEOUT_MS', flag: '--leave-timeout-ms', help: `On SIGINT/SIGTERM, the longest a cluster node spends handing its lease and shards on before it stops (default ${DEFAULT_LEAVE_TIMEOUT_MS}; keep it under the platform's kill timeout; 0 turns the leave off)` },
  { key: 'restGlobalLimit', env: 'SHARDLINE_REST_GLOBAL_LIMIT', flag: '--rest-global-limit', help: "The token's global REST limit per second, shared by all nodes (default 50; raise it only if Discord raised it)" },
  { key: 'restInvalidLimit', env: 'SHARDLINE_REST_INVALID_LIMIT', flag: '--rest-invalid-limit', help: 'Invalid REST answers per 10 min that get the IP banned (default 10000); the cluster throttles before' },
  { key: 'reshardThreshold', env: 'SHARDLINE_RESHARD_THRESHOLD', flag: '--reshard-threshold', help: 'Reshard live once Discord recommends this many times the current shard count (default 2; 0 never)' },
  { key: 'reshardCheckMs', env: 'SHARDLINE_RESHARD_CHECK_MS', flag: '--reshard-check-ms', help: 'How often the primary checks the recommended shard count, in ms (default 3600000; 0 never)' },
  { key: 'reshardOn4011', env: 'SHARDLINE_RESHARD_ON_4011', flag: '--reshard-on-4011', help: "Reshard live when Discord closes a shard with 4011 'sharding required' (true or false, default true)" },
  { key: 'shardMultiple', env: 'SHARDLINE_SHARD_MULTIPLE', flag: '--shard-multiple', help: 'Large bots: shard counts must be a multiple of the number Discord gave you (default 1)' },
] as const satisfies readonly { key: keyof Config; env: string; flag: string | null; help: string }[];

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export interface LoadConfigInput {
  env: Readonly<Record<string, string | undefined>>;
  /** Flags after the command name, e.g. ['--shards', '4']. Unknown flags are an error. */
  argv?: readonly string[];
  /** Used when SHARDLINE_NODE_ID is not set. */
  hostname?: string;
  /** Commands that never talk to Discord (query, status) run without a token. Default true. */
  requireToken?: boolean;
}

export function loadConfig(input: LoadConfigInput): Config {
  const flags = parseFlags(input.argv ?? []);
  const problems: string[] = [...flags.problems];
  const raw = (key: keyof Config): { value: string | undefined; source: string } => {
    const setting = CONFIG_SETTINGS.find((s) => s.key === key)!;
    if (setting.flag !== null && flags.values.has(setting.flag)) return { value: flags.values.get(setting.flag), source: setting.flag };
    const value = input.env[setting.env];
    return { value: value === undefined || value.trim() === '' ? undefined : value.trim(), source: setting.env };
  };
  const text = (key: keyof Config, fallback: string): string => raw(key).value ?? fallback;
  const int = (key: keyof Config, fallback: number, min: number, max: number): number => {
    const { value, source } = raw(key);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${source} must be an integer from ${min} to ${max}, got ${shown(value)}`);
      return fallback;
    }
    return n;
  };

  const token = raw('token').value ?? '';
  if (token === '' && input.requireToken !== false) {
    problems.push('DISCORD_TOKEN is not set: export the bot token from the Discord developer portal (or any token the simulator accepts)');
  } else if (/\s/.test(token)) {
    problems.push('DISCORD_TOKEN contains white space: paste the token alone, without "Bot " or quotes');
  } else if (token !== '' && !HEADER_SAFE.test(token)) {
    problems.push('DISCORD_TOKEN holds a character an HTTP header cannot carry (a control character or a non-ASCII letter): paste the token alone');
  }

  const apiUrl = text('apiUrl', DEFAULT_API_URL).replace(/\/+$/, '');
  if (!isHttpUrl(apiUrl)) problems.push(`DISCORD_API_URL must be an http(s) URL such as ${DEFAULT_API_URL}, got ${shown(apiUrl)}`);

  let shardCount: number | 'auto' = 'auto';
  const shardRaw = raw('shardCount');
  if (shardRaw.value !== undefined && shardRaw.value !== 'auto') {
    const n = Number(shardRaw.value);
    if (!/^\d+$/.test(shardRaw.value) || n < 1 || n > 65_535) {
      problems.push(`${shardRaw.source} must be 'auto' or an integer from 1 to 65535, got ${shown(shardRaw.value)}`);
    } else {
      shardCount = n;
    }
  }

  const intentsRaw = raw('intents').value;
  const intents = intentsRaw === undefined ? null : int('intents', 0, 0, 2 ** 31 - 1);

  const dbFile = text('dbFile', 'shardline.db');
  if (dbFile.includes('/') || dbFile.includes('\\') || dbFile.startsWith('.') || dbFile.includes('\0')) {
    problems.push(`SHARDLINE_DB_FILE must be a plain file name (LiteFS replicates files in its mount directory only), got ${shown(dbFile)}`);
  }
  const dataDir = text('dataDir', '.data');
  if (dataDir.includes('\0')) problems.push(`${raw('dataDir').source} must be a path, got one with a NUL character: ${shown(dataDir)}`);
  const botModule = raw('botModule').value ?? null;
  if (botModule?.includes('\0')) problems.push(`${raw('botModule').source} must be a path or a module specifier, got one with a NUL character: ${shown(botModule)}`);
  const httpHost = text('httpHost', '127.0.0.1');
  if (!isListenHost(httpHost)) problems.push(`${raw('httpHost').source} must be an IP address or a host name such as 0.0.0.0 or ::, got ${shown(httpHost)}`);

  const writeFunnel = text('writeFunnel', 'thread');
  if (writeFunnel !== 'thread' && writeFunnel !== 'inline') problems.push(`${raw('writeFunnel').source} must be 'thread' or 'inline', got ${shown(writeFunnel)}`);

  const logLevel = text('logLevel', 'info');
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`SHARDLINE_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${shown(logLevel)}`);

  const nodeId = text('nodeId', input.hostname ?? 'node-1');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(nodeId)) problems.push(`SHARDLINE_NODE_ID must be 1-64 letters, digits, '.', '_' or '-', got ${shown(nodeId)}`);

  const adminToken = raw('adminToken').value ?? null;
  if (adminToken !== null && adminToken.length < 16) problems.push('SHARDLINE_ADMIN_TOKEN must be at least 16 characters (use a random string)');
  else if (adminToken !== null && !HEADER_SAFE.test(adminToken)) problems.push('SHARDLINE_ADMIN_TOKEN holds a character an HTTP header cannot carry (white space, a control character or a non-ASCII letter), so no request could present it: use a random string such as openssl rand -hex 24 prints');
  const clusterSecret = raw('clusterSecret').value ?? null;
  if (clusterSecret !== null && clusterSecret.length < 16) problems.push('SHARDLINE_CLUSTER_SECRET must be at least 16 characters (use a random string)');
  else if (clusterSecret !== null && !HEADER_SAFE.test(clusterSecret)) problems.push('SHARDLINE_CLUSTER_SECRET holds a character an HTTP header cannot carry (white space, a control character or a non-ASCII letter), so no node could present it: use a random string such as openssl rand -hex 24 prints');

  const litefsUrl = raw('litefsUrl').value?.replace(/\/+$/, '') ?? null;
  if (litefsUrl !== null && !isHttpUrl(litefsUrl)) problems.push(`SHARDLINE_LITEFS_URL must be an http URL such as http://127.0.0.1:20202, got ${shown(litefsUrl)}`);
  if (litefsUrl !== null && clusterSecret === null && input.requireToken !== false) {
    problems.push('SHARDLINE_CLUSTER_SECRET is not set: nodes of a LiteFS cluster authenticate to each other with it (use the same random string on every node)');
  }
  const advertiseUrl = raw('advertiseUrl').value?.replace(/\/+$/, '') ?? null;
  if (advertiseUrl !== null && !isHttpUrl(advertiseUrl)) problems.push(`SHARDLINE_ADVERTISE_URL must be an http(s) URL, got ${shown(advertiseUrl)}`);

  const thresholdRaw = raw('reshardThreshold');
  let threshold = 2;
  if (thresholdRaw.value !== undefined) {
    threshold = Number(thresholdRaw.value);
    if (!/^\d+(\.\d+)?$/.test(thresholdRaw.value) || (threshold !== 0 && threshold < 1) || threshold > 100) {
      problems.push(`${thresholdRaw.source} must be 0 (never) or a number from 1 to 100, got ${shown(thresholdRaw.value)}`);
      threshold = 2;
    }
  }
  const on4011Raw = raw('reshardOn4011');
  const on4011 = on4011Raw.value ?? 'true';
  if (on4011 !== 'true' && on4011 !== 'false') problems.push(`${on4011Raw.source} must be true or false, got ${shown(on4011)}`);

  const config: Config = {
    token,
    apiUrl,
    shardCount,
    intents,
    dataDir,
    dbFile,
    httpHost,
    httpPort: int('httpPort', 8080, 0, 65_535),
    botModule,
    nodeId,
    adminToken,
    clusterSecret,
    logLevel,
    flushIntervalMs: int('flushIntervalMs', 50, 1, 60_000),
    writeFunnel: writeFunnel === 'inline' ? 'inline' : 'thread',
    litefsUrl,
    advertiseUrl,
    nodeTimeoutMs: int('nodeTimeoutMs', 5_000, 500, 600_000),
    leaveTimeoutMs: int('leaveTimeoutMs', DEFAULT_LEAVE_TIMEOUT_MS, 0, 600_000),
    restGlobalLimit: int('restGlobalLimit', 50, 1, 100_000),
    restInvalidLimit: int('restInvalidLimit', 10_000, 10, 10_000_000),
    reshardThreshold: threshold,
    reshardCheckMs: int('reshardCheckMs', 3_600_000, 0, 7 * 86_400_000),
    reshardOn4011: on4011 !== 'false',
    shardMultiple: int('shardMultiple', 1, 1, 65_535),
  };
  if (problems.length > 0) {
    throw new ShardlineError('INVALID_CONFIG', `Invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
  return Object.freeze(config);
}

function parseFlags(argv: readonly string[]): { values: Map<string, string>; problems: string[] } {
  const known = new Set<string>(CONFIG_SETTINGS.flatMap((s) => (s.flag === null ? [] : [s.flag])));
  const values = new Map<string, string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (!known.has(name)) {
      problems.push(`Unknown option ${shown(name)}; known options: ${[...known].join(', ')}`);
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value.startsWith('--') || value.trim() === '') {
      problems.push(`Option ${name} needs a value`);
      if (value !== undefined && value.startsWith('--')) i--;
      continue;
    }
    values.set(name, value);
  }
  return { values, problems };
}

/** A value as a problem message shows it: quoted, and never the whole of a huge one. */
function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) + (value.length > 80 ? ` (${value.length} characters)` : '');
}

/** Characters an HTTP header value can carry: a secret outside them could never be presented. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

/** An IP address or a DNS name: what an HTTP server can listen on. */
function isListenHost(text: string): boolean {
  if (/^(\d{1,3}\.){3}\d{1,3}$/.test(text)) return text.split('.').every((part) => Number(part) <= 255);
  if (text.includes(':')) return /^[0-9A-Fa-f:.]{2,45}$/.test(text) && text.split('::').length <= 2;
  return /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(text);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

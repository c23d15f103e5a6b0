/**
 * Configuration is input from outside: environment variables and flags, typed by a person or
 * templated by a deployment. Whatever they hold, loadConfig returns a configuration every part
 * of the node can use as it is, or throws INVALID_CONFIG naming the problems in a bounded
 * message; never another error, and never garbage accepted to fail later, elsewhere.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isShardlineError } from '../core/errors.ts';
import { CONFIG_SETTINGS, loadConfig, type Config } from './load-config.ts';

const headerSafe = (text: string): boolean => /^[\x21-\x7e]+$/.test(text);
const isUrl = (text: string, protocols: readonly string[]): boolean => {
  try {
    return protocols.includes(new URL(text).protocol);
  } catch {
    return false;
  }
};
const int = (n: unknown, min: number, max: number): boolean => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
const hostname = (text: string): boolean => isIP(text) !== 0 || (text.length <= 253 && /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/.test(text));

/** What the node relies on, written apart from loadConfig. */
function usable(c: Config): boolean {
  return (
    headerSafe(c.token) &&
    isUrl(c.apiUrl, ['http:', 'https:']) &&
    (c.shardCount === 'auto' || int(c.shardCount, 1, 65_535)) &&
    (c.intents === null || int(c.intents, 0, 2 ** 31 - 1)) &&
    c.dataDir.length > 0 && !c.dataDir.includes('\0') &&
    /^[^/\\.\0][^/\\\0]*$/.test(c.dbFile) &&
    hostname(c.httpHost) &&
    int(c.httpPort, 0, 65_535) &&
    (c.botModule === null || (c.botModule.length > 0 && !c.botModule.includes('\0'))) &&
    /^[A-Za-z0-9._-]{1,64}$/.test(c.nodeId) &&
    (c.adminToken === null || (headerSafe(c.adminToken) && c.adminToken.length >= 16)) &&
    (c.clusterSecret === null || (headerSafe(c.clusterSecret) && c.clusterSecret.length >= 16)) &&
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(c.logLevel) &&
    int(c.flushIntervalMs, 1, 60_000) &&
    ['thread', 'inline'].includes(c.writeFunnel) &&
    (c.litefsUrl === null || isUrl(c.litefsUrl, ['http:', 'https:'])) &&
    (c.advertiseUrl === null || isUrl(c.advertiseUrl, ['http:', 'https:'])) &&
    int(c.nodeTimeoutMs, 500, 600_000)
  );
}

const value = fc.oneof(
  fc.constantFrom('', ' ', '0', '1', '-1', '8080', '65536', '1e3', '0x10', 'auto', 'inline', 'thread', 'debug', 'http://127.0.0.1:20202', 'https://discord.com/api/', 'ws://x', '127.0.0.1', '::1', 'localhost', 'a b', 'node-1', 'shardline.db', '../x.db', 'tok en', 'héllo-token-0123456789', 'token\u0000with-nul-0123456789', 'a'.repeat(16), 'x'.repeat(100_000)),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer().map(String),
  fc.webUrl(),
);
const env = fc.dictionary(fc.constantFrom(...CONFIG_SETTINGS.map((s) => s.env), 'UNRELATED'), value, { maxKeys: 12 }).map((e) => ({ DISCORD_TOKEN: 'abc.def.ghi', ...e }));
const argv = fc.array(fc.oneof(fc.constantFrom(...CONFIG_SETTINGS.flatMap((s) => (s.flag ? [s.flag] : [])), '--token', '--', '-x', '--port='), value), { maxLength: 8 });

function outcome(input: Parameters<typeof loadConfig>[0]): { ok: true; config: Config } | { ok: false } {
  try {
    return { ok: true, config: loadConfig(input) };
  } catch (error) {
    expect(isShardlineError(error, 'INVALID_CONFIG'), String(error)).toBe(true);
    expect((error as Error).message.length).toBeLessThan(10_000);
    return { ok: false };
  }
}

describe('loadConfig under fuzzed environments and flags', () => {
  it('answers any environment and command line with a usable configuration or a bounded INVALID_CONFIG', () => {
    fc.assert(
      fc.property(env, argv, fc.constantFrom('box', 'bad host!', 'x'.repeat(80)), (e, a, host) => {
        const result = outcome({ env: e, argv: a, hostname: host });
        if (result.ok) expect(usable(result.config), JSON.stringify(result.config).slice(0, 500)).toBe(true);
      }),
      { numRuns: 5_000 },
    );
  });
});

describe('loadConfig regressions from the fuzz', () => {
  const base = { DISCORD_TOKEN: 'abc.def.ghi' };

  it('regression: a 100 kB value went whole into the problem message', () => {
    expect(outcome({ env: { ...base, SHARDLINE_LITEFS_URL: 'x'.repeat(100_000) } }).ok).toBe(false);
  });

  it('regression: a token, admin token or cluster secret with a control character or a non-ASCII letter was accepted, and every request carrying it failed later', () => {
    expect(outcome({ env: { ...base, DISCORD_TOKEN: 'tökén' } }).ok).toBe(false);
    expect(outcome({ env: { ...base, SHARDLINE_ADMIN_TOKEN: 'admin\u0007token-0123456789' } }).ok).toBe(false);
    expect(outcome({ env: { ...base, SHARDLINE_CLUSTER_SECRET: 'secret with spaces 0123456789' } }).ok).toBe(false);
  });

  it('regression: an HTTP host that is no address ("a b") was accepted, and the node failed later, at listen', () => {
    expect(outcome({ env: { ...base, SHARDLINE_HTTP_HOST: 'a b' } }).ok).toBe(false);
    for (const host of ['0.0.0.0', '::', '::1', 'fly-local-6pn', 'my-app.internal']) expect(outcome({ env: { ...base, SHARDLINE_HTTP_HOST: host } }).ok, host).toBe(true);
  });

  it("regression: an empty flag value (--db-file '') was taken as the value, making the database path the data directory", () => {
    expect(outcome({ env: base, argv: ['--db-file', ''] }).ok).toBe(false);
    expect(outcome({ env: base, argv: ['--data-dir='] }).ok).toBe(false);
  });

  it('regression: a NUL character in a path was accepted, and opening the database failed later', () => {
    expect(outcome({ env: { ...base, SHARDLINE_DATA_DIR: '/data\u0000x' } }).ok).toBe(false);
    expect(outcome({ env: { ...base, SHARDLINE_BOT: './bot\u0000.mjs' } }).ok).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { isShardlineError } from '../core/errors.ts';
import { CONFIG_SETTINGS, loadConfig } from './load-config.ts';

const env = { DISCORD_TOKEN: 'abc.def.ghi' };

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isShardlineError(error, 'INVALID_CONFIG')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected an INVALID_CONFIG error');
}

describe('loadConfig', () => {
  it('fills defaults around a token', () => {
    const config = loadConfig({ env, hostname: 'box' });
    expect(config).toMatchObject({
      token: 'abc.def.ghi',
      apiUrl: 'https://discord.com/api',
      shardCount: 'auto',
      dataDir: '.data',
      dbFile: 'shardline.db',
      httpPort: 8080,
      nodeId: 'box',
      adminToken: null,
      flushIntervalMs: 50,
      writeFunnel: 'thread',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('explains a missing token instead of failing later', () => {
    expect(problemsOf(() => loadConfig({ env: {} }))).toMatch(/DISCORD_TOKEN is not set/);
  });

  it('lets flags override the environment', () => {
    const config = loadConfig({ env: { ...env, SHARD_COUNT: '2' }, argv: ['--shards', '4', '--port=0', '--api-url', 'http://127.0.0.1:9/api/'] });
    expect(config.shardCount).toBe(4);
    expect(config.httpPort).toBe(0);
    expect(config.apiUrl).toBe('http://127.0.0.1:9/api');
  });

  it('reports every bad value at once, naming the variable and the value', () => {
    const message = problemsOf(() =>
      loadConfig({
        env: {
          DISCORD_TOKEN: 'has space',
          SHARD_COUNT: 'many',
          SHARDLINE_HTTP_PORT: '70000',
          SHARDLINE_DB_FILE: '../x.db',
          SHARDLINE_LOG_LEVEL: 'loud',
          SHARDLINE_ADMIN_TOKEN: 'short',
          DISCORD_API_URL: 'ftp://x',
          SHARDLINE_NODE_ID: 'bad id',
        },
      }),
    );
    for (const fragment of ['white space', 'SHARD_COUNT', '"many"', 'SHARDLINE_HTTP_PORT', '70000', 'SHARDLINE_DB_FILE', 'SHARDLINE_LOG_LEVEL', 'SHARDLINE_ADMIN_TOKEN', 'DISCORD_API_URL', 'SHARDLINE_NODE_ID']) {
      expect(message).toContain(fragment);
    }
    expect(message).not.toContain('has space');
  });

  it('takes the write funnel mode from SHARDLINE_WRITE_FUNNEL or --write-funnel, and names a wrong one', () => {
    expect(loadConfig({ env: { ...env, SHARDLINE_WRITE_FUNNEL: 'inline' } }).writeFunnel).toBe('inline');
    expect(loadConfig({ env, argv: ['--write-funnel', 'inline'] }).writeFunnel).toBe('inline');
    expect(problemsOf(() => loadConfig({ env: { ...env, SHARDLINE_WRITE_FUNNEL: 'worker' } }))).toMatch(/SHARDLINE_WRITE_FUNNEL must be 'thread' or 'inline', got "worker"/);
  });

  it('rejects unknown flags and flags without values', () => {
    expect(problemsOf(() => loadConfig({ env, argv: ['--shard', '2'] }))).toMatch(/Unknown option "--shard"/);
    expect(problemsOf(() => loadConfig({ env, argv: ['--shards'] }))).toMatch(/--shards needs a value/);
  });

  it('never accepts secrets as flags', () => {
    for (const setting of CONFIG_SETTINGS) {
      if (['token', 'adminToken', 'clusterSecret'].includes(setting.key)) expect(setting.flag).toBeNull();
    }
  });
});

describe('loadConfig without a token', () => {
  it('lets commands that never reach Discord run without DISCORD_TOKEN', () => {
    expect(loadConfig({ env: {}, requireToken: false }).token).toBe('');
  });
});

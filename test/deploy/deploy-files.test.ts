import { readFileSync } from 'node:fs';
import { validate } from 'dockerfile-utils';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load-config.ts';

const root = new URL('../../', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, root), 'utf8');

/** LiteFS's own expansion: ${VAR} replaced by the environment, unset => empty. */
function expandLikeLiteFs(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => env[name] ?? '');
}

// What scripts/litefs-entrypoint.sh derives on a Fly machine.
const flyEnv = {
  LITEFS_DIR: '/litefs',
  LITEFS_DATA_DIR: '/var/lib/litefs',
  LITEFS_HTTP_ADDR: 'fly-local-6pn:20202',
  LITEFS_HOSTNAME: '148e21ea7d9789',
  LITEFS_ADVERTISE_URL: 'http://148e21ea7d9789.vm.my-shardline-bot.internal:20202',
  LITEFS_CANDIDATE: 'true',
  LITEFS_RECONNECT_DELAY: '1s',
  LITEFS_CONSUL_URL: 'https://consul.example:8501/abc',
  LITEFS_CONSUL_KEY: 'litefs/my-shardline-bot',
  LITEFS_CONSUL_TTL: '10s',
  LITEFS_CONSUL_LOCK_DELAY: '1s',
  LITEFS_EXEC: 'shardline start',
};

describe('litefs.yml', () => {
  const config = parseYaml(expandLikeLiteFs(read('litefs.yml'), flyEnv)) as Record<string, any>;

  it('leases through Consul with a per-app key, candidates in the primary region', () => {
    expect(config.lease.type).toBe('consul');
    expect(config.lease.consul).toMatchObject({ url: flyEnv.LITEFS_CONSUL_URL, key: 'litefs/my-shardline-bot', ttl: '10s', 'lock-delay': '1s' });
    expect(config.lease.candidate).toBe(true);
    expect(config.lease.hostname).toBe(flyEnv.LITEFS_HOSTNAME);
    expect(config.lease['advertise-url']).toMatch(/\.internal:20202$/);
  });

  it('binds the unauthenticated LiteFS API to the private network and has no proxy', () => {
    expect(config.http.addr).toBe('fly-local-6pn:20202');
    expect(config.proxy).toBeUndefined();
  });

  it('runs shardline as its one long-running app and keeps LiteFS defaults for unset values', () => {
    expect(config.exec).toBe('shardline start');
    const bare = parseYaml(expandLikeLiteFs(read('litefs.yml'), {})) as Record<string, any>;
    expect(bare.exec).toBeNull();
    expect(bare.http.addr).toBeNull();
  });

  it('mounts where shardline looks for its database', () => {
    expect(config.fuse.dir).toBe('/litefs');
    const entrypoint = read('scripts/litefs-entrypoint.sh');
    expect(entrypoint).toContain(': "${SHARDLINE_DATA_DIR:=$LITEFS_DIR}"');
    expect(entrypoint).toContain(': "${SHARDLINE_NODE_ID:=$LITEFS_HOSTNAME}"');
    expect(entrypoint).toContain(': "${SHARDLINE_LITEFS_URL:=$LITEFS_URL}"');
  });
});

describe('fly.toml', () => {
  const fly = parseToml(read('fly.toml')) as Record<string, any>;

  it('keeps LiteFS data on a volume the Dockerfile\'s LiteFS uses', () => {
    expect(fly.mounts).toMatchObject({ source: 'litefs', destination: '/var/lib/litefs' });
    expect(fly.primary_region).toMatch(/^[a-z]{3}$/);
  });

  it('health-checks /healthz on the port shardline listens on', () => {
    const port = Number(fly.env.SHARDLINE_HTTP_PORT);
    expect(fly.checks.alive).toMatchObject({ type: 'http', path: '/healthz', port });
    const config = loadConfig({ env: { ...fly.env, DISCORD_TOKEN: 'x' } });
    expect(config.httpPort).toBe(port);
  });

  it('gives a leaving node its whole leave, and a few seconds to stop, before Fly kills it', () => {
    expect(fly.kill_signal).toBe('SIGTERM');
    const killTimeoutMs = Number(/^(\d+)s$/.exec(String(fly.kill_timeout))?.[1]) * 1_000;
    const config = loadConfig({ env: { ...fly.env, DISCORD_TOKEN: 'x' } });
    expect(config.leaveTimeoutMs).toBeGreaterThan(0);
    expect(killTimeoutMs - config.leaveTimeoutMs).toBeGreaterThanOrEqual(5_000);
  });

  it('does not expose the admin API publicly', () => {
    expect(fly.http_service).toBeUndefined();
    expect(fly.services).toBeUndefined();
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('uses a linter that does flag broken Dockerfiles', () => {
    expect(validate('FROM\nEXPOSE port\nENTRYPOINT ["x"\n').length).toBeGreaterThan(0);
  });

  it('passes the Dockerfile linter with no error or warning', () => {
    // LSP severities: 1 error, 2 warning.
    const problems = validate(dockerfile).filter((d) => d.severity === 1 || d.severity === 2);
    expect(problems.map((p) => `${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
  });

  it('is multi-stage, ships LiteFS from its official image, and only production dependencies', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^FROM node:\d+-bookworm-slim AS build$/m);
    expect(dockerfile).toContain('COPY --from=flyio/litefs:0.5 /usr/local/bin/litefs /usr/local/bin/litefs');
    expect(dockerfile).toContain('npm prune --omit=dev');
    for (const pkg of ['fuse3', 'ca-certificates', 'sqlite3']) expect(dockerfile).toContain(pkg);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["litefs-entrypoint"\]$/m);
    expect(dockerfile).toContain('COPY litefs.yml /etc/litefs.yml');
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).not.toMatch(/COPY (src|test|bench)/);
  });
});

import { describe, expect, it } from 'vitest';
import { queryProcessEnv } from './query-processes.ts';

describe('queryProcessEnv', () => {
  it('keeps what a Node process needs and drops every credential', () => {
    const env = queryProcessEnv({
      PATH: '/usr/bin',
      NODE_OPTIONS: '--max-old-space-size=512',
      SHARDLINE_DATA_DIR: '/litefs',
      DISCORD_TOKEN: 'bot-token',
      SHARDLINE_ADMIN_TOKEN: 'admin',
      SHARDLINE_CLUSTER_SECRET: 'cluster',
      AWS_SECRET_ACCESS_KEY: 'aws',
      FLY_API_TOKEN: 'fly',
      UNSET: undefined,
    });
    expect(env).toEqual({ PATH: '/usr/bin', NODE_OPTIONS: '--max-old-space-size=512', SHARDLINE_DATA_DIR: '/litefs' });
  });
});

import { defineConfig } from 'vitest/config';

// The real-LiteFS suite (`npm run test:litefs`): root, FUSE, and the LiteFS and Consul binaries
// from scripts/install-tools.sh. One file at a time in one fork: every test starts its own
// Consul and LiteFS processes, and crash failovers wait out real lease TTLs.
export default defineConfig({
  test: {
    include: ['test/litefs/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});

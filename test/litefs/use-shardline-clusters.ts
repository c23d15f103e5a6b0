import { afterAll, afterEach, beforeAll } from 'vitest';
import { liteFsPrerequisites, type LiteFsTools } from './prerequisites.ts';
import { ShardlineCluster, type ShardlineClusterOptions } from './shardline-cluster.ts';

/**
 * Registers one test file's cluster lifecycle: prerequisites checked once (missing ones fail
 * the file, never skip it), the cluster of each test closed after it, and any left over closed
 * at the end of the file even after a failure.
 */
export function useShardlineClusters(): { start(options?: Omit<ShardlineClusterOptions, 'tools'>): Promise<ShardlineCluster> } {
  let tools: LiteFsTools;
  let current: ShardlineCluster | null = null;
  const all: ShardlineCluster[] = [];
  beforeAll(() => {
    tools = liteFsPrerequisites();
  });
  afterEach(async () => {
    await current?.close();
    current = null;
  });
  afterAll(async () => {
    await Promise.allSettled(all.map((c) => c.close()));
  });
  return {
    async start(options = {}) {
      current = await ShardlineCluster.start({ ...options, tools });
      all.push(current);
      return current;
    },
  };
}

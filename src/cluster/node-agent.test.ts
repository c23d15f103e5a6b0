import { describe, expect, it } from 'vitest';
import type { Writer } from '../core/mutation.ts';
import type { SqliteDriver } from '../core/sqlite.ts';
import type { ShardRunner } from '../host/shard-runner.ts';
import { silentLogger } from '../log/create-logger.ts';
import { NodeAgent } from './node-agent.ts';

function agentWithRunnerLog(): { agent: NodeAgent; created: number[] } {
  const created: number[] = [];
  const agent = new NodeAgent({
    nodeId: 'n2',
    version: 'test',
    startedAt: 0,
    url: () => 'http://127.0.0.1:1',
    // Never read by a start command: only the loops (not started here) read the replica.
    readDb: {} as SqliteDriver,
    shardCount: 4,
    createRunner: (shardId, epoch) => {
      created.push(shardId);
      return { shardId, epoch, trackHandled: () => {}, start: async () => {} } as unknown as ShardRunner;
    },
    heartbeat: () => Promise.reject(new Error('no primary in this test')),
    writer: {} as Writer,
    logger: silentLogger(),
  });
  return { agent, created };
}

describe('NodeAgent start commands', () => {
  it('runs a shard the coordinator starts on a running node', () => {
    const { agent, created } = agentWithRunnerLog();
    agent.startShard(1, 3, null);
    expect(created).toEqual([1]);
    expect(agent.runners.get(1)?.epoch).toBe(3);
  });

  it('regression: a start that reached a closing node ran a shard nobody stopped (its gateway socket outlived the host)', () => {
    const { agent, created } = agentWithRunnerLog();
    agent.stop();
    expect(() => agent.startShard(1, 3, null)).toThrow(expect.objectContaining({ code: 'CLOSED', message: 'Cannot start shard 1 on n2: the node is closing' }));
    expect(() => agent.startShard(2, 1, null, { generation: 1, shardCount: 8 })).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    expect(created).toEqual([]);
    expect(agent.runners.size).toBe(0);
  });
});

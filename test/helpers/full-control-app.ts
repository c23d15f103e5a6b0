import type { Hono } from 'hono';
import type { ControlOperations, PrimaryOperations } from '../../src/control/control-operations.ts';
import { createControlApp, type ControlDeps } from '../../src/control/create-control-app.ts';
import type { ResumeInfo } from '../../src/core/resume-info.ts';
import { captureLogger } from './log-sink.ts';

export const FULL_ADMIN = 'admin-token-full-app-0123456789';
export const FULL_SECRET = 'cluster-secret-full-app-0123456789';

const INFO: ResumeInfo = { shardId: 1, shardCount: 4, sessionId: 'sess-1', seq: 9, resumeGatewayUrl: 'wss://gateway.example' };

/**
 * A control app with every optional route served (reshards, REST leases, write holds, peer
 * takeovers), its operations answering fixed values and recording that they ran.
 */
export function fullControlApp(overrides: Partial<ControlDeps> = {}): { app: Hono; calls: string[] } {
  const calls: string[] = [];
  const record = <T>(name: string, value: T): T => {
    calls.push(name);
    return value;
  };
  const operations: ControlOperations & PrimaryOperations = {
    shardCount: () => 4,
    takeover: async () => record('takeover', { tookMs: 1, alreadyPrimary: false, primary: 'node-a' }),
    handoff: async (shardId) => record('handoff', { ...INFO, shardId }),
    resume: async (shardId) => record('resume', { shardId, epoch: 2, node: 'node-a' }),
    move: async (shardId, to) => record('move', { shardId, from: 'node-a', to, epoch: 3, seq: 9, tookMs: 2 }),
    drain: async (node, draining) => record('drain', { node, draining, shards: [], done: true, tookMs: 1 }),
    metrics: () => ({ role: 'primary', shards: [], funnel: null, forwarder: null, identify: null }),
    reshard: {
      start: async (body) => record('reshard.start', { generation: 1, from: 4, to: typeof body.shardCount === 'number' ? body.shardCount : 8, trigger: body.via, groups: 4 }),
      view: () => null,
    },
    releaseShard: async () => record('releaseShard', INFO),
    claimShard: async (request) => record('claimShard', { shardId: request.shardId, epoch: 4, node: request.nodeId }),
    setDraining: async () => void record('setDraining', undefined),
    shardStats: () => ({ status: 'ready', readySince: 1, seq: 9 }),
    holdWrites: async (holdMs) => record('holdWrites', { heldMs: holdMs }),
    takeoverForPeer: async () => record('takeoverForPeer', { tookMs: 1, alreadyPrimary: false, primary: 'node-b' }),
  };
  const app = createControlApp({
    adminToken: FULL_ADMIN,
    clusterSecret: FULL_SECRET,
    logger: captureLogger('warn').logger,
    readiness: () => ({ ready: true, reasons: [] }),
    status: () => record('status', { node: { id: 'node-a' }, shards: [] }),
    query: () => record('query', { columns: ['n'], rows: [[1]], truncated: false }),
    internal: {
      heartbeat: () => record('heartbeat', { primary: 'node-a', shardCount: 4 }),
      acceptWrites: async () => record('acceptWrites', { stale: [] }),
      identify: async () => record('identify', { kind: 'grant' as const, bucket: 0, remaining: 900 }),
      detach: async (shardId) => record('detach', { ...INFO, shardId }),
      start: () => void record('start', undefined),
      restLease: () =>
        record('restLease', { primary: 'node-a', limit: 50, share: 25, ttlMs: 3_000, fallbackShare: 10, nodes: 2, shares: {}, invalid: { count: 0, limit: 10_000, windowMs: 600_000 }, buckets: [] }),
      reshard: {
        prepare: () => void record('reshard.prepare', undefined),
        retire: async () => record('reshard.retire', { keys: [], retired: [], uncovered: [] }),
        takeOver: async () => void record('reshard.takeOver', undefined),
        start: async () => record('reshard.forwarded', { generation: 1, from: 4, to: 8, trigger: 'http', groups: 4 }),
      },
    },
    operations,
    ...overrides,
  });
  return { app, calls };
}

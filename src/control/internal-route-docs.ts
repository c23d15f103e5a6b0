import { z } from 'zod';
import { detachRequest, heartbeatRequest, identifyRequest, startRequest, writesRequest } from '../cluster/cluster-protocol.ts';
import { prepareRequest, reshardBody, retireRequest, takeOverRequest } from '../cluster/reshard-protocol.ts';
import { leaseRequest } from '../cluster/rest-budget-protocol.ts';
import type { RouteDoc } from '../openapi/route-doc.ts';
import {
  forwardResultBody,
  heartbeatResponseBody,
  heldWritesBody,
  identifyDecisionBody,
  leaseGrantBody,
  moveReportBody,
  nodeRetireResultBody,
  okBody,
  reshardStartedBody,
  resumeInfoBody,
  resumeResultBody,
  shardStatsBody,
  takeoverResultBody,
} from './api-schemas.ts';
import { claimRequest, emptyBody, forwardedDrainRequest, forwardedMoveRequest, holdWritesRequest, peerTakeoverRequest, releaseRequest } from './control-operations.ts';
import { nodeIdPath, shardIdPath } from './parse-body.ts';

/**
 * The descriptions of the node-to-node routes under /internal (cluster secret only). Nodes
 * call them; they are described so that they are fuzzed too, and so that a node of another
 * version can be checked against them.
 */

const shardParam = { id: { schema: shardIdPath, description: 'The shard id' } };
const nodeParam = { id: { schema: nodeIdPath, description: 'The node id' } };
/** Routes only the primary serves; elsewhere NOT_PRIMARY names the primary. */
const PRIMARY_ONLY = ['NOT_PRIMARY', 'CLOSED', 'STORE_UNAVAILABLE'] as const;
/** What a command to a node's agent answers while the agent is not running, or for a shard it does not run as asked. */
const AGENT = ['CONFLICT', 'STALE_EPOCH', 'NOT_FOUND', 'CLOSED'] as const;
/** A forwarded operation runs on the primary and may reach other nodes. */
const FORWARDED = ['CONFLICT', 'NOT_PRIMARY', 'NO_PRIMARY', 'NOT_FOUND', 'STALE_EPOCH', 'GATEWAY_UNAVAILABLE', 'TIMEOUT', 'CLOSED', 'STORE_UNAVAILABLE'] as const;
const tags = ['internal'];

export const INTERNAL_ROUTE_DOCS = {
  heartbeat: {
    summary: "A node's heartbeat to the primary: its shards, epochs, seqs",
    tags,
    body: { schema: heartbeatRequest },
    responses: { 200: { description: 'Recorded', schema: heartbeatResponseBody } },
    errors: PRIMARY_ONLY,
    // A heartbeat of a node id the cluster does not know makes it a member the primary places shards on.
    dangerous: true,
  },
  identify: {
    summary: 'Ask the primary for an identify slot (contract 8)',
    tags,
    body: { schema: identifyRequest },
    responses: { 200: { description: 'Granted, wait, or refused with the reason', schema: identifyDecisionBody } },
    errors: PRIMARY_ONLY,
    // A grant spends the daily session-start budget.
    dangerous: true,
  },
  writes: {
    summary: "A replica's forwarded cache writes (fenced by shard epoch)",
    description: 'Every entry is validated before anything is written: a bad batch is refused whole. Entries of a stale epoch are answered in `stale` and the sender stops those shards.',
    tags,
    query: { wait: { schema: z.literal('batch'), description: 'batch: acknowledge with the next scheduled commit (a routine send); absent: commit at once' } },
    body: { schema: writesRequest },
    responses: { 200: { description: 'Committed', schema: forwardResultBody } },
    errors: [...PRIMARY_ONLY, 'TIMEOUT'],
  },
  detach: {
    summary: 'Stop a shard here resumably and answer its resume info (the primary moves it)',
    tags,
    params: shardParam,
    body: { schema: detachRequest },
    responses: { 200: { description: 'Detached', schema: resumeInfoBody } },
    errors: AGENT,
    dangerous: true,
  },
  start: {
    summary: 'Start a shard here at an epoch, by RESUME when resume info is given',
    tags,
    params: shardParam,
    body: { schema: startRequest },
    responses: { 200: { description: 'Starting', schema: okBody } },
    errors: AGENT,
    dangerous: true,
  },
  restLease: {
    summary: "A node's REST spend and demand; answers its share of the token's limit",
    tags,
    body: { schema: leaseRequest },
    responses: { 200: { description: 'The lease', schema: leaseGrantBody } },
    errors: [...PRIMARY_ONLY, 'CONFLICT'],
  },
  reshardPrepare: {
    summary: "Track the handled ids of the active set's shards (a reshard begins)",
    tags,
    body: { schema: prepareRequest },
    responses: { 200: { description: 'Tracking', schema: okBody } },
    errors: AGENT,
    dangerous: true,
  },
  reshardRetire: {
    summary: "Stop old-set shards of a switch group; answer the ids their handlers saw",
    tags,
    body: { schema: retireRequest },
    responses: { 200: { description: 'Retired', schema: nodeRetireResultBody } },
    errors: AGENT,
    dangerous: true,
  },
  reshardTakeOver: {
    summary: 'A new-set shard replays what it held back, skipping what the old set handled',
    tags,
    body: { schema: takeOverRequest },
    responses: { 200: { description: 'Taken over', schema: okBody } },
    errors: AGENT,
    dangerous: true,
  },
  reshardStart: {
    summary: 'POST /reshard forwarded to the primary',
    tags,
    body: { schema: reshardBody },
    responses: { 200: { description: 'Started', schema: reshardStartedBody } },
    errors: [...FORWARDED, 'IDENTIFY_REFUSED'],
    dangerous: true,
  },
  release: {
    summary: 'The primary half of a manual handoff: commit the final resume info and mark the shard detached',
    tags,
    params: shardParam,
    body: { schema: releaseRequest },
    responses: { 200: { description: 'Released', schema: resumeInfoBody } },
    errors: FORWARDED,
    dangerous: true,
  },
  claim: {
    summary: 'The primary half of a manual resume: assign a detached shard to the caller',
    tags,
    params: shardParam,
    body: { schema: claimRequest },
    responses: { 200: { description: 'Claimed', schema: resumeResultBody } },
    errors: FORWARDED,
    dangerous: true,
  },
  move: {
    summary: 'POST /shards/{id}/move forwarded to the primary',
    tags,
    params: shardParam,
    body: { schema: forwardedMoveRequest },
    responses: { 200: { description: 'Moved', schema: moveReportBody } },
    errors: FORWARDED,
    dangerous: true,
  },
  stats: {
    summary: "A shard runner's state here (a move measures its gap with it)",
    tags,
    params: shardParam,
    body: { schema: emptyBody, required: false },
    responses: { 200: { description: 'The runner', schema: shardStatsBody } },
    errors: ['NOT_FOUND'],
  },
  drain: {
    summary: 'Set or clear a node\'s draining flag on the primary',
    tags,
    params: nodeParam,
    body: { schema: forwardedDrainRequest },
    responses: { 200: { description: 'Committed', schema: okBody } },
    errors: [...PRIMARY_ONLY, 'NOT_FOUND'],
    dangerous: true,
  },
  takeover: {
    summary: 'A leaving primary asks this node to take the lease and drain the leaver (contract 11)',
    tags,
    body: { schema: peerTakeoverRequest },
    responses: { 200: { description: 'This node is the primary', schema: takeoverResultBody } },
    errors: FORWARDED,
    dangerous: true,
  },
  holdWrites: {
    summary: "Hold the primary's writes before another node takes the lease (0 releases)",
    tags,
    body: { schema: holdWritesRequest },
    responses: { 200: { description: 'Held', schema: heldWritesBody } },
    errors: PRIMARY_ONLY,
    dangerous: true,
  },
} satisfies Record<string, RouteDoc>;

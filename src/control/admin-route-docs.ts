import { z } from 'zod';
import { reshardBody } from '../cluster/reshard-protocol.ts';
import type { RouteDoc } from '../openapi/route-doc.ts';
import { OPTIONAL_ADMIN_SECURITY } from './api-security.ts';
import {
  drainReportBody,
  healthBody,
  htmlBody,
  moveReportBody,
  queryResultBody,
  readinessBody,
  reshardStartedBody,
  reshardViewBody,
  resumeInfoBody,
  resumeResultBody,
  takeoverResultBody,
} from './api-schemas.ts';
import { drainBody, emptyBody, moveBody, resumeBody, takeoverBody } from './control-operations.ts';
import { loginForm } from './dashboard/login-form.ts';
import { nodeIdPath, shardIdPath } from './parse-body.ts';
import { queryBody } from './query-body.ts';
import { statusBody } from './status-schema.ts';

/**
 * The descriptions of the public, admin and dashboard routes (GET /openapi.json). Request
 * schemas are the ones the routes validate with; the error codes listed are those the route
 * answers beyond the ones its shape implies (a body: INVALID_INPUT and TOO_LARGE; the admin
 * guard: UNAUTHORIZED).
 */

/** What an operation that reaches the primary (or another node) may also answer (STORE_UNAVAILABLE: writes held while the lease moves). */
const CLUSTER_ERRORS = ['CONFLICT', 'NOT_PRIMARY', 'NO_PRIMARY', 'GATEWAY_UNAVAILABLE', 'TIMEOUT', 'CLOSED', 'STORE_UNAVAILABLE'] as const;

const shardParam = { id: { schema: shardIdPath, description: 'The shard id (below the bot\'s shard count)' } };
const nodeParam = { id: { schema: nodeIdPath, description: 'The node id (as the cluster names it)' } };
const html = (description: string) => ({ description, mediaType: 'text/html', schema: htmlBody });

export const ROUTE_DOCS = {
  healthz: {
    summary: 'The process is alive',
    tags: ['public'],
    responses: { 200: { description: 'Alive', schema: healthBody } },
  },
  readyz: {
    summary: 'Ready: known role, open database, every shard here connected',
    tags: ['public'],
    responses: { 200: { description: 'Ready', schema: readinessBody }, 503: { description: 'Not ready, with the reasons', schema: readinessBody } },
  },
  openapi: {
    summary: 'This document (OpenAPI 3.1)',
    description: 'Public: it describes the routes, not the node or its data, and is the same on every node of a version; the routes it lists keep their own guards.',
    tags: ['public'],
    responses: { 200: { description: 'The OpenAPI 3.1 document of the routes this node serves', schema: z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }) } },
  },
  reference: {
    summary: 'The API reference page, rendered from this document',
    tags: ['public'],
    responses: { 200: html('The reference page: every route, its auth, parameters, body and answers') },
  },
  status: {
    summary: "This node's view of the cluster",
    description: 'Nodes, shards (epoch, state, session age, last seq, events/s), assignments, identify budget, write funnel, query threads, event loop stalls, recent cluster events, REST budget. Bounded by construction.',
    tags: ['admin'],
    responses: { 200: { description: 'The status', schema: statusBody } },
  },
  query: {
    summary: "One read-only SQL statement on this node's copy of the database",
    description: 'Runs off the event loop on a query process. A result larger than maxBytes as JSON is refused (TOO_LARGE), never truncated; maxRows truncates and says so.',
    tags: ['admin'],
    body: { schema: queryBody },
    responses: { 200: { description: 'Columns and rows; BLOBs as { "$blob": base64 }', schema: queryResultBody } },
    errors: ['TIMEOUT', 'STORE_UNAVAILABLE', 'CLOSED'],
  },
  metrics: {
    summary: 'Prometheus metrics',
    tags: ['admin'],
    responses: { 200: { description: 'Prometheus text exposition', mediaType: 'text/plain', schema: z.string() } },
  },
  takeover: {
    summary: 'Make this node the LiteFS primary',
    description: 'Holds the old primary\'s writes, promotes this node, and answers once its coordinator runs.',
    tags: ['admin'],
    body: { schema: takeoverBody, required: false },
    responses: { 200: { description: 'This node is the primary', schema: takeoverResultBody } },
    errors: CLUSTER_ERRORS,
    dangerous: true,
  },
  handoff: {
    summary: 'Detach a shard here and answer its resume info',
    description: 'No node runs the shard until POST /shards/{id}/resume (here or on another node) takes the answer.',
    tags: ['admin'],
    params: shardParam,
    body: { schema: emptyBody, required: false },
    responses: { 200: { description: 'The final resume info, committed with the epoch bump', schema: resumeInfoBody } },
    errors: [...CLUSTER_ERRORS, 'NOT_FOUND', 'STALE_EPOCH'],
    dangerous: true,
  },
  resume: {
    summary: 'Start a detached shard here by RESUME',
    tags: ['admin'],
    params: shardParam,
    body: { schema: resumeBody, description: 'Exactly what POST /shards/{id}/handoff answered' },
    responses: { 200: { description: 'The shard is claimed at a new epoch', schema: resumeResultBody } },
    errors: [...CLUSTER_ERRORS, 'NOT_FOUND', 'STALE_EPOCH'],
    dangerous: true,
  },
  move: {
    summary: 'Move a shard to another node by resume (the orchestrated handoff)',
    tags: ['admin'],
    params: shardParam,
    body: { schema: moveBody },
    responses: { 200: { description: 'Moved: the epoch, the seq resumed after, and the gap', schema: moveReportBody } },
    errors: [...CLUSTER_ERRORS, 'NOT_FOUND', 'STALE_EPOCH'],
    dangerous: true,
  },
  drain: {
    summary: 'Move every shard off a node by resume, and give it none',
    tags: ['admin'],
    params: nodeParam,
    body: { schema: drainBody, required: false },
    responses: {
      200: { description: 'The node holds no shard', schema: drainReportBody },
      202: { description: 'Draining: shards are still leaving after waitMs; poll GET /status or call again', schema: drainReportBody },
    },
    errors: [...CLUSTER_ERRORS, 'NOT_FOUND'],
    dangerous: true,
  },
  undrain: {
    summary: 'Let a drained node take shards again',
    tags: ['admin'],
    params: nodeParam,
    body: { schema: emptyBody, required: false },
    responses: { 200: { description: 'The flag is cleared', schema: drainReportBody } },
    errors: [...CLUSTER_ERRORS, 'NOT_FOUND'],
    dangerous: true,
  },
  reshardStart: {
    summary: 'Start a live reshard',
    description: 'Answers 202 at once; GET /reshard, /status and the dashboard follow it. A refusal (another reshard runs, an invalid count, an identify budget too small) changes nothing.',
    tags: ['admin'],
    body: { schema: reshardBody },
    responses: { 202: { description: 'Started', schema: z.strictObject({ reshard: reshardStartedBody }) } },
    errors: [...CLUSTER_ERRORS, 'IDENTIFY_REFUSED'],
    dangerous: true,
  },
  reshardView: {
    summary: 'The running reshard, or the last one',
    tags: ['admin'],
    responses: { 200: { description: 'Phase, groups switched, new shards, IDENTIFYs spent; null when there was none', schema: z.strictObject({ reshard: reshardViewBody.nullable() }) } },
  },
  dashboard: {
    summary: 'The dashboard, or its login form without a session',
    tags: ['dashboard'],
    security: OPTIONAL_ADMIN_SECURITY,
    responses: { 200: html('The dashboard (with a session or the admin token), else the login form'), 401: html('The admin API is off: SHARDLINE_ADMIN_TOKEN is not set') },
  },
  dashboardLive: {
    summary: "The dashboard's live panels (polled every second)",
    tags: ['dashboard'],
    responses: { 200: html('The panels') },
  },
  login: {
    summary: 'Trade the admin token for a dashboard session cookie',
    tags: ['dashboard'],
    body: { schema: loginForm, mediaType: 'application/x-www-form-urlencoded' },
    // A wrong or missing token shows the form again (401 HTML), never a JSON 400.
    impliedErrors: false,
    errors: ['TOO_LARGE'],
    responses: {
      303: {
        description: 'Logged in: the session cookie is set, on to the dashboard',
        headers: { location: { description: 'The dashboard', schema: z.literal('/'), required: true }, 'set-cookie': { description: 'The HttpOnly, SameSite=Strict session cookie', schema: z.string(), required: true } },
      },
      401: html('The login form again: a wrong token, or the admin API is off'),
    },
  },
  logout: {
    summary: 'End the dashboard session',
    tags: ['dashboard'],
    responses: { 303: { description: 'The session cookie is cleared, on to the login form', headers: { location: { description: 'The login form', schema: z.literal('/'), required: true } } } },
  },
} satisfies Record<string, RouteDoc>;

/**
 * One soak node: a shardline Host on a thread of its own, so it has its own event loop, heap,
 * timers and sockets. An event-loop stall here stalls no other node. A kill ends the thread
 * with process.exit() at the next task boundary (or at once from a stall; a blocking commit
 * call fails and the thread ends at the next boundary): no cleanup code of the node runs, its
 * last JavaScript neither posts nor fetches, and its sockets and SQLite connections close as
 * the kernel closes a killed process's. (Not worker.terminate() from outside: it can abort the
 * whole process when it lands while native code, such as the HTTP parser, calls into JavaScript.)
 * Its database is on a simulated LiteFS node in the parent (see remote-replicated-driver.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import type { BotDefinition } from '../../src/bot.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { Host } from '../../src/host.ts';
import { createLogger } from '../../src/log/create-logger.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { createNodeRuntime } from '../../src/runtime/node-runtime.ts';
import { CACHE_INTENTS } from '../helpers/test-host.ts';
import { remoteReplicatedFactory } from './remote-replicated-driver.ts';
import { FAULTS, KILLED_EXIT_CODE, MAX_NODES, type FromWorker, type ToWorker, type WorkerInit } from './soak-shared.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);
const faults = new Int32Array(init.faults);

// Lines are written synchronously: a node killed mid-run keeps its log up to the kill.
/** Set by the parent at a kill: the JavaScript left before the thread ends does nothing that leaves it. */
const killed = (): boolean => Atomics.load(faults, FAULTS.kill + init.slot) === 1;

const logger = createLogger({ level: 'info', destination: pino.destination({ dest: init.logPath, append: true, sync: true }), base: { node: init.nodeId } });

const bot: BotDefinition = {
  intents: CACHE_INTENTS,
  // Posted at once, one message per dispatch: a message posted before the thread is killed still arrives.
  onDispatch(event) {
    if (event.seq !== null && !killed()) post({ type: 'handled', r: [event.shardId, event.sessionId, event.seq, event.t, Date.now()] });
  },
  shardReady(info) {
    post({ type: 'shard-ready', shardId: info.shardId, sessionId: info.session.sessionId, resumed: info.kind === 'resume', at: Date.now() });
  },
};

/** Node-to-node HTTP, failing both ways while this node or the one called is cut off. */
const cutFetch: typeof fetch = (input, initArg) => {
  const url = String(input instanceof Request ? input.url : input);
  if (killed()) return Promise.reject(new TypeError('fetch failed: this node was killed'));
  if (Atomics.load(faults, FAULTS.apiCut + init.slot) === 1) return Promise.reject(new TypeError('fetch failed: simulated partition (this node is cut off)'));
  const targetPort = Number(/^https?:\/\/[^/]+:(\d+)/.exec(url)?.[1] ?? 0);
  for (let slot = 0; slot < MAX_NODES; slot++) {
    if (targetPort !== 0 && Atomics.load(faults, FAULTS.port + slot) === targetPort && Atomics.load(faults, FAULTS.apiCut + slot) === 1) {
      return Promise.reject(new TypeError('fetch failed: simulated partition (the node called is cut off)'));
    }
  }
  return fetch(input, initArg);
};

const config = loadConfig({ env: init.env });
const host = new Host({
  config,
  runtime: createNodeRuntime(),
  bot,
  logger,
  sqlite: remoteReplicatedFactory(betterSqlite3Driver, { commits: init.commits, call: new Int32Array(init.call), faults, slot: init.slot }),
  fetch: cutFetch,
  identifySpacingMs: 50,
  cluster: { ...init.timing, maxConcurrentHandoffs: 2 },
  shardTuning: { invalidSessionDelayMs: { min: 10, max: 50 }, backoffBaseMs: 50, backoffCapMs: 500 },
  rest: { nodeHeader: true },
});

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'stall': {
      // Holds this thread's event loop, as a long synchronous handler or a GC pause would.
      const until = Date.now() + message.ms;
      while (Date.now() < until) {
        if (Atomics.load(faults, FAULTS.kill + init.slot) === 1) process.exit(KILLED_EXIT_CODE);
      }
      post({ type: 'stalled', ms: message.ms });
      return;
    }
    case 'leave':
      void host.leave({ timeoutMs: message.timeoutMs }).then(
        (report) => post({ type: 'left', outcome: report.outcome, tookMs: report.tookMs, leftover: report.leftover }),
        (error: unknown) => post({ type: 'left', outcome: `error: ${(error as Error).message}`, tookMs: 0, leftover: -1 }),
      );
      return;
    case 'kill':
      // Between two tasks of the event loop: no JavaScript of this node runs after this line.
      process.exit(KILLED_EXIT_CODE);
      return;
    case 'close':
      void host.close().finally(() => post({ type: 'closed' }));
      return;
  }
});

host.start().then(
  () => post({ type: 'started', url: host.url ?? '' }),
  (error: unknown) => post({ type: 'start-failed', message: (error as Error).message }),
);

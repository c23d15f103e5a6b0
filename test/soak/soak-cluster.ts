/**
 * The soak's cluster: a simulated Discord and a simulated LiteFS in this thread, and every
 * shardline node on a thread of its own (soak-node-worker.ts). Faults act from here: a kill
 * ends a node's thread and its LiteFS node, a stall holds a node's event loop, cuts and
 * disk faults flip shared memory the node's fetch and database consult on every call.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { FakeDiscord, type FakeDiscordOptions } from '../../src/discord-sim/fake-discord.ts';
import { SimLiteFs } from '../../src/litefs-sim/sim-litefs.ts';
import type { ReplicatedOp } from '../../src/litefs-sim/replicated-driver.ts';
import type { SimLiteFsNode } from '../../src/litefs-sim/sim-litefs-node.ts';
import { betterSqlite3Driver } from '../../src/runtime/better-sqlite3-driver.ts';
import { packageUrl } from '../../src/runtime/start-node-worker.ts';
import { ADMIN_TOKEN, CLUSTER_SECRET } from '../helpers/sim-cluster.ts';
import { once } from 'node:events';
import { CALL, CALL_STATE, DISK, FAULTS, MAX_NODES, type CommitRequest, type FromWorker, type ToWorker, type WorkerInit } from './soak-shared.ts';

export interface SoakClusterOptions {
  readonly dir: string;
  readonly nodeIds: readonly string[];
  readonly shardCount: number;
  readonly nodeTimeoutMs: number;
  readonly leaseTtlMs: number;
  readonly lockDelayMs: number;
  readonly timing: WorkerInit['timing'];
  readonly discord: FakeDiscordOptions;
  /** Every message a node thread posts (handled dispatches, READY/RESUMED, leave reports). */
  readonly onMessage: (nodeId: string, message: FromWorker) => void;
  /** Every transaction a node committed into the simulated LiteFS, in commit order. */
  readonly onCommit?: (nodeId: string, ops: readonly ReplicatedOp[]) => void;
}

export type NodeState = 'down' | 'starting' | 'up' | 'leaving';

/** A node thread that has not said it started by then is taken as hung: the run fails, naming it. */
const START_TIMEOUT_MS = 60_000;
/** A killed thread gone quiet this long is stopped from outside (the last resort: see soak-node-worker.ts). */
const EXIT_TIMEOUT_MS = 10_000;

/** Waits for the thread's exit; past `ms` it is terminated from outside and the run told why. */
async function exitedWithin(node: SoakNode, worker: Worker, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const outcome = await Promise.race([node.exited.then(() => 'exited' as const), late]);
  clearTimeout(timer);
  if (outcome === 'exited') return;
  await worker.terminate();
  throw new Error(`node ${node.id}'s thread did not exit within ${ms} ms of its kill (its log: ${node.logPath})`);
}

export class SoakNode {
  readonly id: string;
  readonly slot: number;
  readonly litefs: SimLiteFsNode;
  readonly logPath: string;
  state: NodeState = 'down';
  worker: Worker | null = null;
  /** Settles when the current thread has exited. */
  exited: Promise<unknown> = Promise.resolve();
  url: string | null = null;
  /** Killed while its LiteFS node held the lease: its database may hold a commit the log lacks. */
  killedAsPrimary = false;
  stalledUntil = 0;
  readonly call = new SharedArrayBuffer(CALL.length * 4);
  #commits: MessageChannel | null = null;

  constructor(id: string, slot: number, litefs: SimLiteFsNode, logPath: string) {
    this.id = id;
    this.slot = slot;
    this.litefs = litefs;
    this.logPath = logPath;
  }

  /** A fresh channel for the blocking commit calls of a new thread; the old one is closed. */
  commitChannel(): MessageChannel {
    this.#commits?.port1.close();
    this.#commits = new MessageChannel();
    return this.#commits;
  }

  closeCommits(): void {
    this.#commits?.port1.close();
    this.#commits = null;
  }
}

export class SoakCluster {
  readonly discord: FakeDiscord;
  readonly litefs: SimLiteFs;
  readonly nodes: SoakNode[] = [];
  readonly faults = new Int32Array(new SharedArrayBuffer(FAULTS.length * 4));
  readonly #o: SoakClusterOptions;

  constructor(options: SoakClusterOptions) {
    if (options.nodeIds.length > MAX_NODES) throw new Error(`at most ${MAX_NODES} nodes`);
    this.#o = options;
    this.discord = new FakeDiscord(options.discord);
    this.litefs = new SimLiteFs({ dir: join(options.dir, 'litefs'), driverFactory: betterSqlite3Driver, ttlMs: options.leaseTtlMs, lockDelayMs: options.lockDelayMs, lagMs: 5 });
    mkdirSync(join(options.dir, 'logs'), { recursive: true });
    options.nodeIds.forEach((id, slot) => {
      this.nodes.push(new SoakNode(id, slot, this.litefs.addNode(id), join(options.dir, 'logs', `${id}.log`)));
    });
  }

  async start(): Promise<void> {
    await this.discord.start();
    this.litefs.start();
    for (const node of this.nodes) await node.litefs.start();
    await Promise.all(this.nodes.map((node) => this.startNode(node.id)));
  }

  node(id: string): SoakNode {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no soak node ${id}`);
    return node;
  }

  /** The node whose LiteFS holds the lease (null during an election). */
  litefsPrimary(): SoakNode | null {
    const primary = this.litefs.primary();
    return primary ? this.node(primary.hostname) : null;
  }

  up(): SoakNode[] {
    return this.nodes.filter((n) => n.state === 'up');
  }

  /** Starts (or restarts) a node's LiteFS and its thread; resolves once its HTTP API listens. */
  async startNode(id: string): Promise<void> {
    const node = this.node(id);
    if (node.state !== 'down') throw new Error(`Cannot start ${id}: it is ${node.state}`);
    node.state = 'starting';
    if (!node.litefs.alive) {
      if (node.killedAsPrimary) {
        const source = this.nodes.find((n) => n !== node && n.litefs.reachable && !n.litefs.view.isPrimary) ?? this.nodes.find((n) => n !== node && n.litefs.reachable);
        if (source) node.litefs.restoreFrom(source.litefs);
      }
      await node.litefs.start();
    }
    node.killedAsPrimary = false;
    const channel = node.commitChannel();
    const call = new Int32Array(node.call);
    channel.port1.on('message', (request: CommitRequest) => {
      let ok = false;
      try {
        if (request.ops === null) ok = node.litefs.alive && node.litefs.view.isPrimary;
        else {
          node.litefs.commitFrom(request.ops);
          ok = true;
        }
      } catch {
        ok = false;
      }
      Atomics.store(call, CALL.state, ok ? CALL_STATE.ok : CALL_STATE.refused);
      Atomics.notify(call, CALL.state);
      if (ok && request.ops !== null) this.#o.onCommit?.(id, request.ops);
    });
    const init: WorkerInit = {
      slot: node.slot,
      nodeId: id,
      env: this.#env(node),
      faults: this.faults.buffer as SharedArrayBuffer,
      call: node.call,
      commits: channel.port2,
      logPath: node.logPath,
      timing: this.#o.timing,
    };
    const entry = new URL('./soak-node-worker.ts', import.meta.url).href;
    const worker = new Worker(
      `import(${JSON.stringify(packageUrl('tsx/esm/api'))}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(entry)}); })`,
      { eval: true, workerData: init, transferList: [channel.port2] },
    );
    node.worker = worker;
    node.exited = once(worker, 'exit').catch(() => undefined);
    const started = new Promise<void>((resolve, reject) => {
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'started') {
          node.url = message.url;
          Atomics.store(this.faults, FAULTS.port + node.slot, Number(new URL(message.url).port));
          node.state = 'up';
          resolve();
        } else if (message.type === 'start-failed') {
          reject(new Error(`node ${id} did not start: ${message.message}`));
        }
        this.#o.onMessage(id, message);
      });
      worker.once('error', (error) => reject(new Error(`node ${id}'s thread failed: ${error.message}`)));
      worker.once('exit', () => reject(new Error(`node ${id}'s thread exited while starting`)));
    });
    worker.on('error', (error) => this.#o.onMessage(id, { type: 'start-failed', message: `thread error: ${error.stack ?? error.message}` }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`node ${id} did not start within ${START_TIMEOUT_MS} ms (its log: ${node.logPath})`)), START_TIMEOUT_MS);
    });
    try {
      await Promise.race([started, timeout]);
    } catch (error) {
      await this.kill(id);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9 of the node: its thread ends at once and its LiteFS dies without releasing the lease. */
  async kill(id: string): Promise<void> {
    const node = this.node(id);
    node.killedAsPrimary = node.litefs.alive && node.litefs.view.isPrimary;
    // Commits it posted but the simulated LiteFS has not taken yet die with it.
    node.closeCommits();
    const worker = node.worker;
    node.worker = null;
    Atomics.store(this.faults, FAULTS.port + node.slot, 0);
    node.state = 'down';
    node.url = null;
    node.stalledUntil = 0;
    if (worker) {
      Atomics.store(this.faults, FAULTS.kill + node.slot, 1);
      const call = new Int32Array(node.call);
      Atomics.store(call, CALL.state, CALL_STATE.killed);
      Atomics.notify(call, CALL.state);
      worker.postMessage({ type: 'kill' } satisfies ToWorker);
      if (node.litefs.alive) await node.litefs.kill();
      await exitedWithin(node, worker, EXIT_TIMEOUT_MS);
    } else if (node.litefs.alive) {
      await node.litefs.kill();
    }
    Atomics.store(this.faults, FAULTS.kill + node.slot, 0);
  }

  /** SIGTERM: the node leaves (contract 11), then its LiteFS stops and releases the lease. */
  async leave(id: string, timeoutMs: number): Promise<FromWorker & { type: 'left' }> {
    const node = this.node(id);
    const worker = node.worker;
    if (!worker || node.state !== 'up') throw new Error(`Cannot stop ${id}: it is ${node.state}`);
    node.state = 'leaving';
    const left = new Promise<FromWorker & { type: 'left' }>((resolve) => {
      const onMessage = (message: FromWorker): void => {
        if (message.type !== 'left') return;
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
    });
    worker.postMessage({ type: 'leave', timeoutMs } satisfies ToWorker);
    const report = await left;
    node.closeCommits();
    node.worker = null;
    Atomics.store(this.faults, FAULTS.port + node.slot, 0);
    node.url = null;
    worker.postMessage({ type: 'kill' } satisfies ToWorker);
    await exitedWithin(node, worker, EXIT_TIMEOUT_MS);
    if (node.litefs.alive) await node.litefs.stop();
    node.state = 'down';
    return report;
  }

  /** Holds the node's event loop for `ms` (its LiteFS, elsewhere, keeps running). */
  stall(id: string, ms: number): void {
    const node = this.node(id);
    node.stalledUntil = Date.now() + ms;
    node.worker?.postMessage({ type: 'stall', ms } satisfies ToWorker);
  }

  /** Cuts (or heals) the node's HTTP to and from every other node. */
  cutApi(id: string, on: boolean): void {
    Atomics.store(this.faults, FAULTS.apiCut + this.node(id).slot, on ? 1 : 0);
  }

  /** Cuts (or heals) the node's LiteFS from the cluster: no lease, no replication. */
  cutLiteFs(id: string, on: boolean): void {
    const node = this.node(id);
    node.litefs.partitioned = on;
    this.litefs.tick();
  }

  disk(id: string, mode: keyof typeof DISK, slowMs = 0): void {
    const slot = this.node(id).slot;
    Atomics.store(this.faults, FAULTS.diskSlowMs + slot, slowMs);
    Atomics.store(this.faults, FAULTS.disk + slot, DISK[mode]);
  }

  /** An admin API call on a node: the status and the JSON answer (null when the node did not answer). */
  async admin(id: string, method: string, path: string, body?: unknown, timeoutMs = 20_000): Promise<{ status: number; json: Record<string, unknown> | null }> {
    const url = this.node(id).url;
    if (!url) return { status: 0, json: null };
    try {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      let json: Record<string, unknown> | null = null;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = { text };
      }
      return { status: response.status, json };
    } catch (error) {
      return { status: 0, json: { error: (error as Error).message } };
    }
  }

  /** Heals every cut and disk fault. */
  healAll(): void {
    for (const node of this.nodes) {
      this.cutApi(node.id, false);
      if (node.litefs.partitioned) this.cutLiteFs(node.id, false);
      this.disk(node.id, 'fine');
    }
  }

  async close(): Promise<void> {
    this.discord.traffic.stop();
    await Promise.allSettled(this.nodes.map((n) => this.kill(n.id)));
    await this.litefs.close();
    await this.discord.close();
  }

  #env(node: SoakNode): Record<string, string> {
    return {
      DISCORD_TOKEN: 'fake-token',
      DISCORD_API_URL: this.discord.restUrl,
      SHARDLINE_DATA_DIR: node.litefs.mountDir,
      SHARDLINE_HTTP_PORT: '0',
      SHARDLINE_NODE_ID: node.id,
      SHARDLINE_LITEFS_URL: node.litefs.url,
      SHARDLINE_CLUSTER_SECRET: CLUSTER_SECRET,
      SHARDLINE_ADMIN_TOKEN: ADMIN_TOKEN,
      SHARDLINE_FLUSH_MS: '20',
      SHARDLINE_NODE_TIMEOUT_MS: String(this.#o.nodeTimeoutMs),
      SHARD_COUNT: String(this.#o.shardCount),
    };
  }
}

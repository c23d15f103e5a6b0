import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startConsulDev, type ConsulDev } from './consul-dev.ts';
import type { LiteFsTools } from './prerequisites.ts';
import { abortFuseConnection, exitedWithin, freePort, getText, isMounted, signalGroup, spawnGroup, stopGroup, tail, unmount, type GroupProcess } from './processes.ts';

export interface LiteFsNodeSpec {
  /** Lease hostname (LITEFS_HOSTNAME): what other nodes see as the primary's name. */
  readonly hostname: string;
  /** False: a read-only replica that can never become primary. Default true. */
  readonly candidate?: boolean;
  /** Command LiteFS starts once the node is ready (LITEFS_EXEC); absent: no app. */
  readonly exec?: string;
  /** Extra environment for LiteFS, inherited by the exec'd command. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface LiteFsClusterOptions {
  readonly tools: LiteFsTools;
  /** The first node must be a candidate: it is started alone and becomes the first primary. */
  readonly nodes: readonly LiteFsNodeSpec[];
  /** Consul session TTL of the lease (LITEFS_CONSUL_TTL); Consul allows >= 1s here. */
  readonly ttl?: string;
  readonly lockDelay?: string;
  readonly reconnectDelay?: string;
  /** Bound for one node to join (or win) the lease. */
  readonly readyTimeoutMs?: number;
  /** Keep the temp dir (logs, data) after close, for debugging. */
  readonly keepDir?: boolean;
  /** Ports the caller already picked for its own servers (e.g. the apps' HTTP): never given to LiteFS or Consul. */
  readonly reservedPorts?: readonly number[];
}

export interface LiteFsInfo {
  readonly isPrimary: boolean;
  readonly candidate: boolean;
  readonly primary?: { readonly hostname?: string };
}

export interface LiteFsNode {
  readonly hostname: string;
  readonly candidate: boolean;
  /** The node's HTTP API (LITEFS_URL as the app sees it). */
  readonly url: string;
  /** The FUSE mount the app opens databases in (LITEFS_DIR). */
  readonly mountDir: string;
  readonly dataDir: string;
  readonly logPath: string;
}

interface Slot {
  readonly node: LiteFsNode;
  readonly spec: LiteFsNodeSpec;
  readonly port: number;
  proc: GroupProcess | null;
  /** Exit code of the node's last LiteFS process (null: killed by a signal); undefined while none exited. */
  lastExit?: number | null;
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Real LiteFS nodes (as root, FUSE) leasing through a private `consul agent -dev`, all on
 * loopback. Every node runs the repository's litefs.yml through scripts/litefs-entrypoint.sh,
 * configured only by LITEFS_* environment variables, in its own process group so a crash
 * (`kill`) takes its app child with it. Whatever this starts is stopped by `close()`, and
 * killed synchronously if the test process exits or is signalled first.
 */
export class LiteFsCluster {
  readonly dir: string;
  /** Fresh per cluster, so no earlier run's cluster ID is found in Consul. */
  readonly key: string;
  readonly #options: LiteFsClusterOptions;
  readonly #slots = new Map<string, Slot>();
  readonly #takenPorts: Set<number>;
  #consul: ConsulDev | null = null;
  #closed = false;
  readonly #onExit = (): void => this.#killNow();
  readonly #onSignal = (signal: NodeJS.Signals): void => {
    this.#killNow();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
  };

  private constructor(options: LiteFsClusterOptions, dir: string) {
    this.#options = options;
    this.dir = dir;
    this.key = `shardline-test/${randomBytes(6).toString('hex')}`;
    this.#takenPorts = new Set(options.reservedPorts);
  }

  /** Starts Consul, then the first node alone (it becomes primary), then the rest in parallel. */
  static async start(options: LiteFsClusterOptions): Promise<LiteFsCluster> {
    const first = options.nodes[0];
    if (first === undefined || first.candidate === false) throw new Error('LiteFsCluster needs at least one node, and the first must be a candidate');
    const names = new Set(options.nodes.map((n) => n.hostname));
    if (names.size !== options.nodes.length) throw new Error('LiteFsCluster node hostnames must be unique');
    const cluster = new LiteFsCluster(options, mkdtempSync(join(tmpdir(), 'shardline-litefs-')));
    cluster.#registerExitCleanup();
    try {
      cluster.#consul = await startConsulDev({ consulBin: options.tools.consul, dir: cluster.dir, takenPorts: cluster.#takenPorts });
      for (const spec of options.nodes) await cluster.#addSlot(spec);
      await cluster.#launch(first.hostname);
      await waitForPrimary(cluster, first.hostname, options.readyTimeoutMs ?? 60_000);
      await Promise.all(options.nodes.slice(1).map((spec) => cluster.#launch(spec.hostname)));
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  get consulUrl(): string {
    if (this.#consul === null) throw new Error('Consul is not running');
    return this.#consul.url;
  }

  get nodes(): readonly LiteFsNode[] {
    return [...this.#slots.values()].map((s) => s.node);
  }

  node(hostname: string): LiteFsNode {
    return this.#slot(hostname).node;
  }

  /** The node's LiteFS pid, which is also its process group id; null while it is not running. */
  pid(hostname: string): number | null {
    const proc = this.#slot(hostname).proc;
    return proc?.running() ? proc.pid : null;
  }

  running(hostname: string): boolean {
    return this.#slot(hostname).proc?.running() ?? false;
  }

  /** Exit code of the node's last LiteFS process (null: by a signal), undefined if none has exited. */
  lastExit(hostname: string): number | null | undefined {
    return this.#slot(hostname).lastExit;
  }

  /** The node's `GET /info`, or null while it does not answer. */
  async info(hostname: string): Promise<LiteFsInfo | null> {
    const text = await getText(`${this.node(hostname).url}/info`);
    if (text === null) return null;
    try {
      return JSON.parse(text) as LiteFsInfo;
    } catch {
      return null;
    }
  }

  /**
   * Crash: SIGKILL of the node's process group (LiteFS and its app), the mount's FUSE connection
   * aborted (as the kernel does once a dead daemon's /dev/fuse closes; see abortFuseConnection
   * for why that cannot be left to it), then unmount the dead mount.
   */
  async kill(hostname: string): Promise<void> {
    const slot = this.#slot(hostname);
    if (slot.proc !== null) {
      const proc = slot.proc;
      signalGroup(proc.pid, 'SIGKILL');
      const aborted = abortFuseConnection(slot.node.mountDir);
      if (!(await exitedWithin(proc, 15_000))) {
        throw new Error(`LiteFS node ${hostname} (pid ${proc.pid}) did not exit within 15 s of SIGKILL${aborted ? `; ${aborted}` : ''}`);
      }
      slot.proc = null;
    }
    const failed = unmount(slot.node.mountDir, this.#options.tools.fusermount);
    if (failed !== null) throw new Error(failed);
  }

  /** Graceful: SIGTERM (LiteFS stops its app, releases the lease, unmounts), SIGKILL after 10 s. */
  async stop(hostname: string): Promise<void> {
    const slot = this.#slot(hostname);
    if (slot.proc !== null) {
      await stopGroup(slot.proc, 10_000, () => abortFuseConnection(slot.node.mountDir));
      slot.proc = null;
    }
    const failed = unmount(slot.node.mountDir, this.#options.tools.fusermount);
    if (failed !== null) throw new Error(failed);
  }

  /**
   * What a platform does to stop a machine (Fly.io: `kill_signal`, then SIGKILL after
   * `kill_timeout`): `signal` to the LiteFS process alone, which passes it on to its exec'd app
   * and waits for it before unmounting and releasing the lease; SIGKILL of the whole group if
   * LiteFS has not exited after `killAfterMs`. Resolves with LiteFS's exit code (null: killed)
   * and whether it had to be killed.
   */
  async terminate(hostname: string, options: { signal?: NodeJS.Signals; killAfterMs: number }): Promise<{ exitCode: number | null; killed: boolean; tookMs: number }> {
    const slot = this.#slot(hostname);
    const proc = slot.proc;
    if (proc === null || !proc.running()) throw new Error(`Cannot terminate LiteFS node ${hostname}: it is not running`);
    const started = Date.now();
    process.kill(proc.pid, options.signal ?? 'SIGTERM');
    const exited = await exitedWithin(proc, options.killAfterMs);
    if (!exited) {
      signalGroup(proc.pid, 'SIGKILL');
      abortFuseConnection(slot.node.mountDir);
    }
    const exitCode = await proc.exited;
    const tookMs = Date.now() - started;
    // The app must not outlive its LiteFS (a container would take it along).
    signalGroup(proc.pid, 'SIGKILL');
    slot.proc = null;
    const failed = unmount(slot.node.mountDir, this.#options.tools.fusermount);
    if (failed !== null) throw new Error(failed);
    return { exitCode, killed: !exited, tookMs };
  }

  /** Starts a stopped or killed node again on the same dirs and port, and waits until it has joined. */
  async restart(hostname: string): Promise<void> {
    const slot = this.#slot(hostname);
    if (slot.proc?.running()) throw new Error(`Cannot restart LiteFS node ${hostname}: it is still running (pid ${slot.proc.pid})`);
    await this.#launch(hostname);
  }

  /** Stops every node and Consul, unmounts, and deletes the temp dir. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const problems: string[] = [];
    await Promise.all([...this.#slots.values()].map(async (slot) => {
      if (slot.proc !== null) await stopGroup(slot.proc, 10_000, () => abortFuseConnection(slot.node.mountDir));
      slot.proc = null;
      const failed = unmount(slot.node.mountDir, this.#options.tools.fusermount);
      if (failed !== null) problems.push(failed);
    }));
    await this.#consul?.close();
    this.#consul = null;
    this.#unregisterExitCleanup();
    // Never delete through a mount that is still there: that would reach into another node's files.
    if (!this.#options.keepDir && problems.length === 0) rmSync(this.dir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`LiteFS cluster in ${this.dir} did not clean up: ${problems.join('; ')}`);
  }

  #slot(hostname: string): Slot {
    const slot = this.#slots.get(hostname);
    if (slot === undefined) throw new Error(`No LiteFS node "${hostname}" in this cluster (nodes: ${[...this.#slots.keys()].join(', ')})`);
    return slot;
  }

  async #addSlot(spec: LiteFsNodeSpec): Promise<void> {
    const base = join(this.dir, spec.hostname);
    mkdirSync(base, { recursive: true });
    const port = await freePort(this.#takenPorts);
    const node: LiteFsNode = {
      hostname: spec.hostname,
      candidate: spec.candidate ?? true,
      url: `http://127.0.0.1:${port}`,
      mountDir: join(base, 'mnt'),
      dataDir: join(base, 'data'),
      logPath: join(base, 'litefs.log'),
    };
    this.#slots.set(spec.hostname, { node, spec, port, proc: null });
  }

  #env(slot: Slot): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    // A developer's own LITEFS_* / Fly variables must not leak into the test nodes.
    for (const [name, value] of Object.entries(process.env)) {
      if (!/^(LITEFS_|FLY_|PRIMARY_REGION$)/.test(name)) env[name] = value;
    }
    const o = this.#options;
    return {
      ...env,
      ...slot.spec.env,
      LITEFS_BIN: o.tools.litefs,
      LITEFS_CONFIG: o.tools.config,
      LITEFS_DIR: slot.node.mountDir,
      LITEFS_DATA_DIR: slot.node.dataDir,
      LITEFS_HTTP_PORT: String(slot.port),
      LITEFS_HTTP_ADDR: `127.0.0.1:${slot.port}`,
      LITEFS_URL: slot.node.url,
      LITEFS_ADVERTISE_URL: slot.node.url,
      LITEFS_HOSTNAME: slot.node.hostname,
      LITEFS_CANDIDATE: String(slot.node.candidate),
      LITEFS_CONSUL_URL: this.consulUrl,
      LITEFS_CONSUL_KEY: this.key,
      LITEFS_CONSUL_TTL: o.ttl ?? '2s',
      LITEFS_CONSUL_LOCK_DELAY: o.lockDelay ?? '500ms',
      LITEFS_RECONNECT_DELAY: o.reconnectDelay ?? '200ms',
      LITEFS_EXEC: slot.spec.exec ?? 'none',
    };
  }

  async #launch(hostname: string): Promise<void> {
    if (this.#closed) throw new Error(`Cannot start LiteFS node ${hostname}: the cluster is closed`);
    const slot = this.#slot(hostname);
    const proc = spawnGroup(this.#options.tools.entrypoint, [], { env: this.#env(slot), cwd: join(this.dir, hostname), logPath: slot.node.logPath });
    slot.proc = proc;
    // LiteFS is PID 1 of a production container: when it exits (a fatal error exits at once,
    // without stopping its app), the container and the app go with it. Same here.
    void proc.exited.then((code) => {
      slot.lastExit = code;
      signalGroup(proc.pid, 'SIGKILL');
    });
    await waitForJoined(this, hostname, this.#options.readyTimeoutMs ?? 60_000);
  }

  #registerExitCleanup(): void {
    process.on('exit', this.#onExit);
    for (const signal of EXIT_SIGNALS) process.on(signal, this.#onSignal);
  }

  #unregisterExitCleanup(): void {
    process.off('exit', this.#onExit);
    for (const signal of EXIT_SIGNALS) process.off(signal, this.#onSignal);
  }

  /** Last resort when the process is going away: synchronous, by pid, no waiting for graceful exits. */
  #killNow(): void {
    for (const slot of this.#slots.values()) {
      if (slot.proc === null) continue;
      signalGroup(slot.proc.pid, 'SIGKILL');
      abortFuseConnection(slot.node.mountDir);
    }
    if (this.#consul !== null) signalGroup(this.#consul.process.pid, 'SIGKILL');
    for (const slot of this.#slots.values()) {
      if (!isMounted(slot.node.mountDir)) continue;
      const result = spawnSync(this.#options.tools.fusermount, ['-u', slot.node.mountDir], { timeout: 5_000 });
      if (result.status !== 0) spawnSync('umount', ['-l', slot.node.mountDir], { timeout: 5_000 });
    }
  }
}

/** A node has joined once it is primary or names a primary; LiteFS starts its exec command then. */
async function waitForJoined(cluster: LiteFsCluster, hostname: string, timeoutMs: number): Promise<void> {
  await pollInfo(cluster, hostname, timeoutMs, 'join the cluster (be primary or name a primary)', (info) => info.isPrimary || !!info.primary?.hostname);
}

async function waitForPrimary(cluster: LiteFsCluster, hostname: string, timeoutMs: number): Promise<void> {
  await pollInfo(cluster, hostname, timeoutMs, 'become primary', (info) => info.isPrimary);
}

async function pollInfo(cluster: LiteFsCluster, hostname: string, timeoutMs: number, what: string, done: (info: LiteFsInfo) => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await cluster.info(hostname);
    if (info !== null && done(info)) return;
    const exited = !cluster.running(hostname);
    if (exited || Date.now() > deadline) {
      const node = cluster.node(hostname);
      throw new Error(
        `LiteFS node ${hostname} (${node.url}) did not ${what} ${exited ? 'before its process exited' : `within ${timeoutMs} ms`}; ` +
          `last /info: ${JSON.stringify(info)}; last log lines of ${node.logPath}:\n${tail(node.logPath)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { SqliteDriver, SqliteDriverFactory, SqliteStatement } from '../core/sqlite.ts';
import { applyOps, replicatedDriver, type ReplicatedOp } from './replicated-driver.ts';

/** What a node needs from its cluster (kept narrow so the two files do not import each other). */
export interface SimClusterLink {
  readonly dbFile: string;
  readonly clusterId: string;
  readonly driverFactory: SqliteDriverFactory;
  /** Appends a committed transaction to the replication log; returns its TXID. */
  append(from: SimLiteFsNode, ops: readonly ReplicatedOp[]): number;
  /** Transactions after `txid` that are old enough for this replica to see (lag applied). */
  pendingFor(txid: number, ignoreLag: boolean): readonly { txid: number; ops: readonly ReplicatedOp[] }[];
  primaryHostname(): string | null;
  promote(node: SimLiteFsNode): 'ok' | 'not-candidate' | 'no-primary';
  release(node: SimLiteFsNode): void;
  changed(): void;
}

export interface NodeView {
  readonly isPrimary: boolean;
  /** The primary's hostname as this node sees it ('' when not connected to one). */
  readonly hostname: string;
}

/**
 * One simulated LiteFS node: a mount directory holding the database and a `.primary` file,
 * an HTTP API with LiteFS's `/info`, `/events` and `/promote`, and a replication pump that
 * replays the primary's transactions into this node's copy.
 */
export class SimLiteFsNode {
  readonly hostname: string;
  readonly candidate: boolean;
  readonly mountDir: string;
  readonly dbPath: string;
  /** 16 hex digits like LiteFS's node ids; new on every start, as in LiteFS. */
  id = '';
  alive = false;
  /**
   * Cut off from the cluster (Consul and the other nodes' LiteFS) while true: it sees no
   * primary, receives no replication, and, when it holds the lease, can no longer renew it.
   */
  partitioned = false;
  applied = 0;
  #view: NodeView = { isPrimary: false, hostname: '' };
  #server: Server | null = null;
  #port = 0;
  #internal: SqliteDriver | null = null;
  readonly #statements = new Map<string, SqliteStatement>();
  readonly #streams = new Set<(line: string | null) => void>();
  readonly #link: SimClusterLink;

  constructor(link: SimClusterLink, options: { hostname: string; candidate: boolean; mountDir: string }) {
    this.#link = link;
    this.hostname = options.hostname;
    this.candidate = options.candidate;
    this.mountDir = options.mountDir;
    this.dbPath = join(options.mountDir, link.dbFile);
  }

  /** Base URL of this node's LiteFS HTTP API (what LITEFS_URL points at). */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get view(): NodeView {
    return this.#view;
  }

  /** Up and in touch with the cluster: only such a node holds, renews or wins the lease. */
  get reachable(): boolean {
    return this.alive && !this.partitioned;
  }

  /**
   * Commits a transaction its application ran elsewhere (another thread) and shipped here:
   * checked against this node's role, then logged for the replicas, as the local driver's commit
   * is. The application commits its own copy only after this returned.
   */
  commitFrom(ops: readonly ReplicatedOp[]): void {
    if (!this.alive || !this.#view.isPrimary) throw readOnlyReplicaError();
    if (ops.length === 0) return;
    this.applied = this.#link.append(this, ops);
    this.#writePos();
  }

  /**
   * While stopped: replaces this node's database with a copy of `source`'s, at its position
   * (as LiteFS sends a snapshot to a replica whose position does not match the primary's).
   */
  restoreFrom(source: SimLiteFsNode): void {
    if (this.alive) throw new Error(`Cannot restore ${this.hostname} from a snapshot: it is running`);
    if (!source.alive || source.#internal === null) throw new Error(`Cannot restore ${this.hostname} from ${source.hostname}: it is not running`);
    mkdirSync(this.mountDir, { recursive: true });
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${this.dbPath}${suffix}`, { force: true });
    source.#internal.prepare('VACUUM INTO ?').run([this.dbPath]);
    this.applied = source.applied;
    this.#writePos();
  }

  /** The driver factory the application on this node opens its database with. */
  readonly driverFactory: SqliteDriverFactory = (options) =>
    replicatedDriver(this.#link.driverFactory(options), {
      assertWritable: () => {
        if (!this.alive || !this.#view.isPrimary) throw readOnlyReplicaError();
      },
      committed: (ops) => {
        this.applied = this.#link.append(this, ops);
        this.#writePos();
      },
    });

  async start(port = this.#port): Promise<void> {
    mkdirSync(this.mountDir, { recursive: true });
    this.id = Array.from({ length: 16 }, () => '0123456789ABCDEF'[Math.floor(Math.random() * 16)]).join('');
    this.#internal = this.#link.driverFactory({ path: this.dbPath, readonly: false, busyTimeoutMs: 5000 });
    this.#internal.exec('PRAGMA journal_mode = WAL');
    // Short: only an application on another thread can hold this file's write lock, briefly, and the pump retries.
    this.#internal.exec('PRAGMA busy_timeout = 100');
    const server = createServer(getRequestListener(this.#app().fetch));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    this.alive = true;
    this.#link.changed();
  }

  /** Crash: no lease release, HTTP connections cut, writes fail from now on. */
  async kill(): Promise<void> {
    await this.#shutdown();
  }

  /** Graceful stop (SIGTERM): the lease is released at once so another node takes over. */
  async stop(): Promise<void> {
    this.#link.release(this);
    await this.#shutdown();
  }

  /** Catches up on replicated transactions; called by the cluster's tick. */
  pump(ignoreLag: boolean): void {
    if (!this.reachable || this.#internal === null) return;
    const pending = this.#link.pendingFor(this.applied, ignoreLag);
    const done: number[] = [];
    for (const tx of pending) {
      try {
        applyOps(this.#internal, tx.ops, this.#statements);
      } catch (error) {
        // An application on another thread holding the write lock (a demoted primary's last
        // transaction): the next tick tries again rather than blocking this thread.
        if ((error as { code?: unknown }).code === 'SQLITE_BUSY') break;
        throw error;
      }
      this.applied = tx.txid;
      done.push(tx.txid);
    }
    if (done.length > 0) {
      this.#writePos();
      for (const txid of done) this.#emit({ type: 'tx', db: this.#link.dbFile, data: { txID: hex(txid) } });
    }
  }

  /** Recomputes this node's view of the lease; emits primaryChange and updates `.primary`. */
  refresh(): void {
    const primary = this.#link.primaryHostname();
    const next: NodeView = !this.reachable
      ? { isPrimary: false, hostname: '' }
      : { isPrimary: primary === this.hostname, hostname: primary ?? '' };
    if (next.isPrimary === this.#view.isPrimary && next.hostname === this.#view.hostname) return;
    this.#view = next;
    this.#writePrimaryFile();
    if (this.alive) this.#emit({ type: 'primaryChange', data: eventData(next) });
  }

  #app(): Hono {
    const app = new Hono();
    app.use('*', async (c, next) => {
      await next();
      c.header('Litefs-Id', this.id);
      c.header('Litefs-Cluster-Id', this.#link.clusterId);
    });
    app.get('/info', (c) =>
      c.json({
        clusterID: this.#link.clusterId,
        isPrimary: this.#view.isPrimary,
        candidate: this.candidate,
        path: this.mountDir,
        primary: { hostname: this.#view.hostname },
      }),
    );
    app.get('/events', () => {
      let send: (line: string | null) => void = () => {};
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          const encoder = new TextEncoder();
          send = (line) => {
            try {
              if (line === null) controller.close();
              else controller.enqueue(encoder.encode(`${line}\n`));
            } catch {
              this.#streams.delete(send);
            }
          };
          this.#streams.add(send);
          send(JSON.stringify({ type: 'init', data: eventData(this.#view) }));
        },
        cancel: () => {
          this.#streams.delete(send);
        },
      });
      return new Response(body, { headers: { 'content-type': 'application/json' } });
    });
    app.post('/promote', (c) => {
      const result = this.#link.promote(this);
      if (result === 'not-candidate') return c.text('not eligible to become primary', 409);
      if (result === 'no-primary') return c.text('no primary is currently available for handoff, cannot promote', 500);
      return c.body(null, 200);
    });
    return app;
  }

  #emit(event: object): void {
    const line = JSON.stringify(event);
    for (const send of this.#streams) send(line);
  }

  async #shutdown(): Promise<void> {
    this.alive = false;
    for (const send of this.#streams) send(null);
    this.#streams.clear();
    const server = this.#server;
    this.#server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#statements.clear();
    this.#internal?.close();
    this.#internal = null;
    this.#view = { isPrimary: false, hostname: '' };
    this.#writePrimaryFile();
    this.#link.changed();
  }

  #writePrimaryFile(): void {
    const file = join(this.mountDir, '.primary');
    // As in LiteFS: present only on a replica connected to a primary.
    if (this.alive && !this.#view.isPrimary && this.#view.hostname !== '') writeFileSync(file, `${this.#view.hostname}\n`);
    else rmSync(file, { force: true });
  }

  #writePos(): void {
    writeFileSync(join(this.mountDir, `${this.#link.dbFile}-pos`), `${hex(this.applied)}/${hex(0)}\n`);
  }
}

/** As LiteFS sends it: a primary's events carry no hostname, and an empty one is left out. */
function eventData(view: NodeView): { isPrimary: boolean; hostname?: string } {
  return view.isPrimary || view.hostname === '' ? { isPrimary: view.isPrimary } : { isPrimary: false, hostname: view.hostname };
}

function hex(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/** In WAL mode LiteFS fails replica writes at the WAL write, which SQLite reports as an I/O error. */
function readOnlyReplicaError(): Error {
  return Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' });
}

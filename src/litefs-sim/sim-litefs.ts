import { join } from 'node:path';
import type { SqliteDriverFactory } from '../core/sqlite.ts';
import type { ReplicatedOp } from './replicated-driver.ts';
import { SimLease } from './sim-lease.ts';
import { SimLiteFsNode, type SimClusterLink } from './sim-litefs-node.ts';

export interface SimLiteFsOptions {
  /** Root directory; each node gets `<dir>/<hostname>/` as its mount. */
  readonly dir: string;
  /** Opens real SQLite connections (better-sqlite3 on Node, node:sqlite on Deno). */
  readonly driverFactory: SqliteDriverFactory;
  readonly dbFile?: string;
  /** Time from a primary's death to its lease expiring (Consul's TTL x 2 in real LiteFS). Default 2000. */
  readonly ttlMs?: number;
  /** Consul lock-delay after an expiry. Default 200. */
  readonly lockDelayMs?: number;
  /** Replication lag: a replica sees a transaction this long after its commit. Default 10. */
  readonly lagMs?: number;
  /** How often the lease and the replication pumps advance. Default 10. */
  readonly tickMs?: number;
}

interface LoggedTx {
  readonly txid: number;
  readonly at: number;
  readonly ops: readonly ReplicatedOp[];
}

/**
 * A LiteFS cluster in one process, for tests and the demo (never production). It keeps
 * LiteFS's contract: the same `/info`, `/events` and `/promote` per node, a mount directory
 * with the database and a `.primary` file, writes that fail on replicas like on LiteFS,
 * asynchronous replication with a lag, election only after the lease expires, and handoff
 * on promote.
 *
 * Simplification: a node that becomes primary first applies every transaction already
 * committed (no lost tail on failover); real LiteFS may lose the last unreplicated ones.
 */
export class SimLiteFs {
  readonly nodes: SimLiteFsNode[] = [];
  readonly #options: Required<SimLiteFsOptions>;
  readonly #lease: SimLease;
  readonly #log: LoggedTx[] = [];
  #txid = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  #lastHolder: string | null = null;
  readonly #link: SimClusterLink;

  constructor(options: SimLiteFsOptions) {
    this.#options = { dbFile: 'shardline.db', ttlMs: 2_000, lockDelayMs: 200, lagMs: 10, tickMs: 10, ...options };
    this.#lease = new SimLease({ ttlMs: this.#options.ttlMs, lockDelayMs: this.#options.lockDelayMs });
    const clusterId = `LFSC${Math.random().toString(16).slice(2, 18).toUpperCase().padEnd(16, '0')}`;
    this.#link = {
      dbFile: this.#options.dbFile,
      clusterId,
      driverFactory: this.#options.driverFactory,
      append: (from, ops) => this.#append(from, ops),
      pendingFor: (txid, ignoreLag) => this.#pendingFor(txid, ignoreLag),
      // A replica sees a primary only while that primary is up (its stream is connected).
      primaryHostname: () => {
        const holder = this.#lease.state.holder;
        return holder !== null && this.nodes.some((n) => n.hostname === holder && n.reachable) ? holder : null;
      },
      promote: (node) => this.#promote(node),
      release: (node) => {
        this.#lease.release(node.hostname);
        this.tick();
      },
      changed: () => this.tick(),
    };
  }

  get dbFile(): string {
    return this.#options.dbFile;
  }

  /** Adds a node (not started). Candidates may hold the lease; others are replicas forever. */
  addNode(hostname: string, options: { candidate?: boolean } = {}): SimLiteFsNode {
    if (this.nodes.some((n) => n.hostname === hostname)) throw new Error(`Cannot add node ${hostname}: the name is taken`);
    const node = new SimLiteFsNode(this.#link, { hostname, candidate: options.candidate ?? true, mountDir: join(this.#options.dir, hostname) });
    this.nodes.push(node);
    return node;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.tick(), this.#options.tickMs);
    this.#timer.unref?.();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const node of this.nodes) if (node.alive) await node.kill();
  }

  node(hostname: string): SimLiteFsNode {
    const node = this.nodes.find((n) => n.hostname === hostname);
    if (!node) throw new Error(`No simulated LiteFS node named ${hostname}`);
    return node;
  }

  primary(): SimLiteFsNode | null {
    return this.nodes.find((n) => n.alive && n.view.isPrimary) ?? null;
  }

  /** Advances lease and replication once; the interval calls it, tests may too. */
  tick(now = Date.now()): void {
    // A node cut off from the cluster neither renews nor wins the lease.
    this.#lease.tick(now, this.nodes.map((n) => ({ hostname: n.hostname, alive: n.reachable, candidate: n.candidate })));
    const holder = this.#lease.state.holder;
    if (holder !== this.#lastHolder && holder !== null) {
      // The new primary must hold everything committed before it accepts writes.
      this.node(holder).pump(true);
    }
    this.#lastHolder = holder;
    for (const node of this.nodes) {
      if (node.hostname !== holder) node.pump(false);
      node.refresh();
    }
    this.#compact();
  }

  #append(from: SimLiteFsNode, ops: readonly ReplicatedOp[]): number {
    if (this.#lease.state.holder !== from.hostname) throw new Error(`Node ${from.hostname} committed without the lease`);
    this.#txid += 1;
    this.#log.push({ txid: this.#txid, at: Date.now(), ops });
    return this.#txid;
  }

  #pendingFor(txid: number, ignoreLag: boolean): readonly LoggedTx[] {
    const cutoff = ignoreLag ? Infinity : Date.now() - this.#options.lagMs;
    const result: LoggedTx[] = [];
    for (const tx of this.#log) {
      if (tx.txid <= txid) continue;
      if (tx.at > cutoff) break;
      result.push(tx);
    }
    return result;
  }

  #promote(node: SimLiteFsNode): 'ok' | 'not-candidate' | 'no-primary' {
    if (!node.candidate) return 'not-candidate';
    if (node.view.isPrimary) return 'ok';
    const holder = this.#lease.state.holder;
    const current = holder === null ? undefined : this.nodes.find((n) => n.hostname === holder);
    if (!current?.reachable || !node.reachable) return 'no-primary';
    this.#lease.handoff(node.hostname, Date.now());
    queueMicrotask(() => this.tick());
    return 'ok';
  }

  /** Drops log entries every node has applied; a dead node keeps its tail until removed. */
  #compact(): void {
    if (this.#log.length < 1024) return;
    const floor = Math.min(...this.nodes.map((n) => n.applied));
    let drop = 0;
    while (drop < this.#log.length && this.#log[drop]!.txid <= floor) drop++;
    if (drop > 0) this.#log.splice(0, drop);
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimLiteFsNode } from '../../src/litefs-sim/sim-litefs-node.ts';
import { ADMIN_TOKEN, CLUSTER_SECRET, type SimCluster } from '../helpers/sim-cluster.ts';
import type { Recorded } from '../helpers/test-host.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const deno = join(root, 'node_modules/.bin/deno');
export const hasDeno = existsSync(deno);
export const DENO_NODE = 'node-deno';

/**
 * One node of the cluster is a Deno process running the shipped entry (deno-main.ts start):
 * its database is the simulated LiteFS node's mount, which the simulated LiteFS in this
 * process keeps replicated (two processes on one WAL file), its role comes from that node's
 * LiteFS HTTP API, and its writes go to the Node primary over the internal HTTP API.
 */
export class DenoNode {
  readonly ledger: string;
  readonly #child: ChildProcess;
  #stderr = '';
  #exit: Promise<number | null>;

  constructor(cluster: SimCluster, litefs: SimLiteFsNode, dir: string, shardCount: number) {
    this.ledger = join(dir, 'deno-handled.jsonl');
    writeFileSync(this.ledger, '');
    this.#child = spawn(deno, ['run', '-A', '--no-check', 'src/runtime/deno-main.ts', 'start'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        ...(process.env['DENO_DIR'] ? { DENO_DIR: process.env['DENO_DIR'] } : {}),
        NO_COLOR: '1',
        DISCORD_TOKEN: 'fake-token',
        DISCORD_API_URL: cluster.discord.restUrl,
        SHARD_COUNT: String(shardCount),
        SHARDLINE_NODE_ID: DENO_NODE,
        SHARDLINE_DATA_DIR: litefs.mountDir,
        SHARDLINE_LITEFS_URL: litefs.url,
        SHARDLINE_HTTP_HOST: '127.0.0.1',
        SHARDLINE_HTTP_PORT: '0',
        SHARDLINE_CLUSTER_SECRET: CLUSTER_SECRET,
        SHARDLINE_ADMIN_TOKEN: ADMIN_TOKEN,
        SHARDLINE_FLUSH_MS: '20',
        SHARDLINE_NODE_TIMEOUT_MS: '1500',
        SHARDLINE_LOG_LEVEL: 'info',
        SHARDLINE_BOT: './test/deno/ledger-bot.ts',
        SHARDLINE_TEST_LEDGER: this.ledger,
      },
    });
    // Its log lines (stdout) and messages (stderr), kept for failure messages.
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        this.#stderr += chunk;
      });
    }
    this.#exit = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  get output(): string {
    return this.#stderr;
  }

  /** The HTTP API URL the node prints once started; throws (with its output) if it exited. */
  get url(): string | null {
    if (this.#child.exitCode !== null) throw new Error(`The Deno node exited with code ${this.#child.exitCode}:\n${this.#stderr}`);
    return /HTTP API on (http:\/\/\S+)/.exec(this.#stderr)?.[1] ?? null;
  }

  /** Every dispatch the Deno node's bot handled (complete lines only: the file grows meanwhile). */
  handled(): Recorded[] {
    const text = readFileSync(this.ledger, 'utf8');
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((line) => JSON.parse(line) as Recorded);
  }

  async admin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** SIGTERM (the node detaches its shards resumably), then SIGKILL if it hangs. */
  async stop(): Promise<number | null> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return this.#exit;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    try {
      return await this.#exit;
    } finally {
      clearTimeout(timer);
    }
  }
}

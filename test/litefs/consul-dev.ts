import { join } from 'node:path';
import { freePort, getText, spawnGroup, stopGroup, tail, type GroupProcess } from './processes.ts';

export interface ConsulDev {
  readonly url: string;
  readonly process: GroupProcess;
  readonly logPath: string;
  close(): Promise<void>;
}

/**
 * A throwaway in-memory `consul agent -dev` on loopback. Every fixed dev port is moved to a free
 * one or disabled, so several runs can share the machine, and session_ttl_min is lowered to 1 s
 * so LiteFS leases can expire within seconds.
 */
export async function startConsulDev(options: { consulBin: string; dir: string; readyTimeoutMs?: number; takenPorts?: Set<number> }): Promise<ConsulDev> {
  const taken = options.takenPorts ?? new Set<number>();
  const [http, serf, server] = [await freePort(taken), await freePort(taken), await freePort(taken)];
  const logPath = join(options.dir, 'consul.log');
  const args = [
    'agent', '-dev', '-bind', '127.0.0.1', '-client', '127.0.0.1',
    '-http-port', String(http), '-serf-lan-port', String(serf), '-server-port', String(server),
    '-dns-port', '-1', '-grpc-port', '-1', '-grpc-tls-port', '-1',
    '-hcl', 'ports { serf_wan = -1 }', '-hcl', 'session_ttl_min = "1s"', '-hcl', 'log_level = "warn"',
  ];
  const proc = spawnGroup(options.consulBin, args, { env: process.env, cwd: options.dir, logPath });
  const url = `http://127.0.0.1:${http}`;
  const consul: ConsulDev = { url, process: proc, logPath, close: () => stopGroup(proc, 5_000) };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    // The leader endpoint answers `""` until the dev server has elected itself.
    const leader = await getText(`${url}/v1/status/leader`);
    if (leader !== null && leader.includes(':')) return consul;
    if (!proc.running() || Date.now() > deadline) {
      await consul.close();
      const why = proc.running() ? `no leader after ${options.readyTimeoutMs ?? 30_000} ms` : 'it exited';
      throw new Error(`consul agent -dev at ${url} did not become ready (${why}); last log lines:\n${tail(logPath)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

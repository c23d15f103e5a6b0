import { ShardlineError } from '../core/errors.ts';

/**
 * The part of the `Deno` namespace shardline uses, typed here so `tsc` (which checks the
 * project with Node's types only) accepts the Deno adapter; `deno check` sees the real one.
 */
export interface DenoServeAddr {
  readonly hostname: string;
  readonly port: number;
}

export interface DenoHttpServer {
  readonly addr: DenoServeAddr;
  readonly finished: Promise<void>;
  shutdown(): Promise<void>;
}

export interface DenoServeOptions {
  hostname: string;
  port: number;
  onListen?: (addr: DenoServeAddr) => void;
  onError?: (error: unknown) => Response | Promise<Response>;
}

export interface DenoApi {
  readonly args: readonly string[];
  readonly env: { toObject(): Record<string, string> };
  hostname(): string;
  cwd(): string;
  readonly stdout: { writeSync(data: Uint8Array): number };
  readonly stderr: { writeSync(data: Uint8Array): number };
  addSignalListener(signal: 'SIGINT' | 'SIGTERM', handler: () => void): void;
  removeSignalListener(signal: 'SIGINT' | 'SIGTERM', handler: () => void): void;
  serve(options: DenoServeOptions, handler: (request: Request) => Response | Promise<Response>): DenoHttpServer;
  readonly build: { readonly os: string };
  readonly permissions: { querySync(descriptor: { name: 'run' }): { readonly state: 'granted' | 'prompt' | 'denied' } };
  exitCode: number;
  exit(code?: number): never;
  unrefTimer(id: number): void;
}

/** The running Deno's namespace; throws on any other runtime instead of failing later. */
export function denoApi(): DenoApi {
  const deno = (globalThis as { Deno?: DenoApi }).Deno;
  if (!deno) throw new ShardlineError('INTERNAL', 'Cannot use the Deno runtime adapter: this process is not running on Deno');
  return deno;
}

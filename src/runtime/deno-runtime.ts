import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ShardlineError } from '../core/errors.ts';
import type { FetchHandler, HttpServerHandle, Runtime } from '../core/runtime.ts';
import { denoApi, type DenoApi } from './deno-api.ts';
import { denoTransactionWorkers } from './deno-transaction-workers.ts';
import { denoQueryWorkers } from './deno-query-workers.ts';
import { nodeSqliteDriver } from './node-sqlite-driver.ts';
import { threadCpuClock } from './thread-cpu.ts';
import { createWsTransport } from './ws-transport.ts';

/**
 * Deno's own Response, kept before anything replaces the global: `@hono/node-server` swaps in
 * its lighter Response class when the simulated Discord or LiteFS start a node:http server in
 * this process, and Deno.serve accepts only responses built by its own constructor.
 */
const NativeResponse = globalThis.Response;

/**
 * The Deno 2 runtime: `node:sqlite` (better-sqlite3 is a legacy V8 addon Deno cannot load),
 * `Deno.serve`, Deno's signal listeners, and the `ws` client through npm compatibility, which
 * keeps pause()/resume() back-pressure on the gateway socket (the global WebSocket has none).
 */
export function createDenoRuntime(): Runtime {
  const deno = denoApi();
  const encoder = new TextEncoder();
  const cwd = deno.cwd();
  // Deno's fork needs --allow-run; without it the query API stays on the event loop rather than fail every query.
  const canFork = deno.permissions.querySync({ name: 'run' }).state === 'granted';
  return {
    name: 'deno',
    cliCommand: 'deno task shardline',
    argv: [...deno.args],
    env: deno.env.toObject(),
    hostname: deno.hostname(),
    cwd,
    stdout: (text) => writeAll(deno.stdout, encoder.encode(text)),
    stderr: (text) => writeAll(deno.stderr, encoder.encode(text)),
    onShutdownSignal(listener) {
      // Windows delivers only SIGINT (and SIGBREAK); asking for SIGTERM there throws.
      const signals = deno.build.os === 'windows' ? (['SIGINT'] as const) : (['SIGINT', 'SIGTERM'] as const);
      const handlers = signals.map((signal) => [signal, () => listener(signal)] as const);
      for (const [signal, handler] of handlers) deno.addSignalListener(signal, handler);
      return () => {
        for (const [signal, handler] of handlers) deno.removeSignalListener(signal, handler);
      };
    },
    transport: createWsTransport(),
    sqlite: nodeSqliteDriver,
    transactionWorkers: denoTransactionWorkers,
    ...(canFork
      ? { queryWorkers: denoQueryWorkers }
      : { queryWorkersMissing: 'Deno runs without --allow-run, so POST /query and ctx.query() run on the event loop: a slow statement there stalls every shard of this node' }),
    serve: (fetch, options) => serveDeno(fetch, options, deno),
    ...optional('threadCpuMs', threadCpuClock()),
    resolveModule(specifier) {
      if (specifier.startsWith('.') || isAbsolute(specifier)) return pathToFileURL(resolve(cwd, specifier)).href;
      return specifier;
    },
  };
}

function writeAll(stream: { writeSync(data: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

/**
 * HTTP on `Deno.serve`. `close()` is graceful for ordinary requests (Deno lets them finish)
 * and ends open streaming bodies first, since Deno's shutdown waits for every response to
 * complete and a long-lived stream (LiteFS-style event feeds, live panels) never would.
 */
export async function serveDeno(fetch: FetchHandler, options: { hostname: string; port: number }, deno: DenoApi = denoApi()): Promise<HttpServerHandle> {
  const streams = new Set<() => void>();
  let closing = false;
  let server;
  try {
    server = deno.serve(
      {
        hostname: options.hostname,
        port: options.port,
        // Without onListen Deno prints "Listening on ..." to stdout.
        onListen: () => {},
        onError: (error) => NativeResponse.json({ error: { code: 'INTERNAL', message: `Unhandled error: ${(error as Error)?.message ?? String(error)}` } }, { status: 500 }),
      },
      async (request) => {
        const response = await fetch(request);
        if (response.body === null) return response.constructor === NativeResponse ? response : new NativeResponse(null, response);
        return closing ? new NativeResponse(response.body, response) : trackBody(response, streams);
      },
    );
  } catch (error) {
    throw new ShardlineError('INVALID_CONFIG', `Cannot listen on ${options.hostname}:${options.port}: ${(error as Error).message}`, { cause: error });
  }
  const addr = server.addr;
  const host = addr.hostname.includes(':') ? `[${addr.hostname}]` : addr.hostname;
  let closed: Promise<void> | null = null;
  return {
    port: addr.port,
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`,
    close: () => {
      closed ??= (async () => {
        closing = true;
        const shutdown = server.shutdown();
        for (const end of [...streams]) end();
        await shutdown;
      })();
      return closed;
    },
  };
}

/** The same response, built by Deno's constructor, with a body this server can end on close. */
function trackBody(response: Response, streams: Set<() => void>): Response {
  const reader = response.body!.getReader();
  let ended = false;
  let end = (): void => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      end = () => {
        if (ended) return;
        ended = true;
        streams.delete(end);
        reader.cancel(new ShardlineError('CLOSED', 'HTTP server closing')).catch(() => {});
        controller.close();
      };
      streams.add(end);
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (ended) return;
        if (done) {
          ended = true;
          streams.delete(end);
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        if (ended) return;
        ended = true;
        streams.delete(end);
        controller.error(error);
      }
    },
    cancel(reason) {
      ended = true;
      streams.delete(end);
      return reader.cancel(reason);
    },
  });
  return new NativeResponse(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import type { FetchHandler, HttpServerHandle, Runtime } from '../core/runtime.ts';
import { betterSqlite3Driver } from './better-sqlite3-driver.ts';
import { nodeTransactionWorkers } from './node-transaction-workers.ts';
import { nodeQueryWorkers } from './node-query-workers.ts';
import { threadCpuClock } from './thread-cpu.ts';
import { createWsTransport } from './ws-transport.ts';

/** The Node runtime: `ws`, better-sqlite3, node:http. */
export function createNodeRuntime(): Runtime {
  return {
    name: 'node',
    cliCommand: 'npm run shardline --',
    argv: process.argv.slice(2),
    env: process.env,
    hostname: hostname(),
    cwd: process.cwd(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    onShutdownSignal(listener) {
      const onSignal = (signal: NodeJS.Signals): void => listener(signal);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      return () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      };
    },
    transport: createWsTransport(),
    sqlite: betterSqlite3Driver,
    transactionWorkers: nodeTransactionWorkers,
    queryWorkers: nodeQueryWorkers,
    serve: serveNode,
    ...optional('threadCpuMs', threadCpuClock()),
    resolveModule(specifier) {
      if (specifier.startsWith('.') || isAbsolute(specifier)) return pathToFileURL(resolve(process.cwd(), specifier)).href;
      return specifier;
    },
  };
}

export async function serveNode(fetch: FetchHandler, options: { hostname: string; port: number }): Promise<HttpServerHandle> {
  const server = createServer(getRequestListener(fetch));
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.hostname, () => {
      server.off('error', fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.hostname.includes(':') ? `[${options.hostname}]` : options.hostname;
  return {
    port,
    url: `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

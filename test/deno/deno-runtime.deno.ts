/**
 * The Deno runtime adapter on its own: Deno.serve's handle, its close with a never-ending
 * stream open, and responses built by @hono/node-server's replacement Response class.
 */
import assert from 'node:assert/strict';
import { getRequestListener } from '@hono/node-server';
import { createDenoRuntime, serveDeno } from '../../src/runtime/deno-runtime.ts';

declare const Deno: { test(name: string, fn: () => Promise<void>): void };

interface DenoProcessApi {
  execPath(): string;
  makeTempFileSync(options: { suffix: string }): string;
  writeTextFileSync(path: string, text: string): void;
  removeSync(path: string): void;
  Command: new (command: string, options: { args: string[]; stdout: 'piped'; stderr: 'piped' }) => { output(): Promise<{ code: number; stdout: Uint8Array; stderr: Uint8Array }> };
}

Deno.test('serveDeno answers on an ephemeral port and close() ends an open stream instead of waiting for it', async () => {
  let chunks = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const server = await serveDeno(
    (request) => {
      if (new URL(request.url).pathname === '/plain') return new Response('plain');
      // A feed that never ends on its own, like a live panel or LiteFS's /events.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          timer = setInterval(() => controller.enqueue(new TextEncoder().encode(`tick ${chunks++}\n`)), 10);
        },
        cancel() {
          clearInterval(timer);
        },
      });
      return new Response(body);
    },
    { hostname: '127.0.0.1', port: 0 },
  );
  try {
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    assert.equal(await (await fetch(`${server.url}/plain`)).text(), 'plain');
    const feed = await fetch(`${server.url}/feed`);
    const reader = feed.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /^tick/);
    // Bounded, so a regression fails here instead of hanging the run (deno test has no timeout).
    let bound: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      server.close(),
      new Promise((_, reject) => (bound = setTimeout(() => reject(new Error('close() waited for the open stream')), 10_000))),
    ]).finally(() => clearTimeout(bound));
    // The client sees the stream end, and the handler's stream was cancelled (its timer cleared).
    for (;;) if ((await reader.read()).done) break;
    const after = chunks;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(chunks, after, 'the handler stopped producing once the server closed');
  } finally {
    // No close() here: after a failed bounded close it would wait forever.
    clearInterval(timer);
  }
});

Deno.test("serveDeno accepts responses made after @hono/node-server replaced the global Response", async () => {
  const { Request: NativeRequest, Response: NativeResponse } = globalThis;
  // Creating a node:http listener swaps the globals, as the simulated Discord and LiteFS do.
  getRequestListener(() => new Response('unused'));
  assert.notEqual(globalThis.Response, NativeResponse, 'the global Response was replaced, as on a node that runs the simulators');
  const server = await serveDeno(() => new Response(JSON.stringify({ ok: true }), { status: 201, headers: { 'x-test': 'yes' } }), { hostname: '127.0.0.1', port: 0 });
  try {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-test'), 'yes');
    assert.deepEqual(await res.json(), { ok: true });
  } finally {
    await server.close();
    Object.defineProperty(globalThis, 'Request', { value: NativeRequest, writable: true, configurable: true });
    Object.defineProperty(globalThis, 'Response', { value: NativeResponse, writable: true, configurable: true });
  }
});

Deno.test('createDenoRuntime reads argv, env and cwd from Deno and removes its signal listeners', async () => {
  const runtime = createDenoRuntime();
  assert.equal(runtime.name, 'deno');
  assert.equal(runtime.cwd, (globalThis as unknown as { Deno: { cwd(): string } }).Deno.cwd());
  assert.equal(typeof runtime.env['PATH'], 'string');
  assert.ok(runtime.hostname.length > 0);
  assert.equal(runtime.resolveModule('./bot.ts'), new URL('bot.ts', `file://${runtime.cwd}/`).href);
  assert.equal(runtime.resolveModule('some-package/bot'), 'some-package/bot');
  const off = runtime.onShutdownSignal(() => {});
  off();
});

Deno.test('the ws transport under Deno delivers nothing while paused and everything after resume', async () => {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as { port: number }).port;
  const received: string[] = [];
  const closed = new AbortController();
  try {
    const peer = new Promise<import('ws').WebSocket>((resolve) => wss.once('connection', (ws) => resolve(ws)));
    const socket = await createDenoRuntime().transport.connect(
      `ws://127.0.0.1:${port}/`,
      { onMessage: (data) => void received.push(String(data)), onClose: () => {} },
      closed.signal,
    );
    const server = await peer;
    socket.pause();
    for (let i = 0; i < 5; i++) server.send(`m${i}`);
    // Nothing may arrive while paused; a short wait for an absence is the only way to see one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(received, []);
    socket.resume();
    for (let i = 0; i < 100 && received.length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(received, ['m0', 'm1', 'm2', 'm3', 'm4']);
    socket.terminate();
  } finally {
    closed.abort();
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }
});

Deno.test('query processes need --allow-run: without it the runtime offers none and says why, instead of failing every query', async () => {
  assert.ok(createDenoRuntime().queryWorkers, 'this test runs with -A, so query processes are offered');
  const probe = `import { createDenoRuntime } from ${JSON.stringify(new URL('../../src/runtime/deno-runtime.ts', import.meta.url).href)};
const runtime = createDenoRuntime();
console.log(JSON.stringify({ workers: typeof runtime.queryWorkers, missing: runtime.queryWorkersMissing ?? null }));`;
  const deno = (globalThis as unknown as { Deno: DenoProcessApi }).Deno;
  // `deno eval` would have every permission: a file run with a narrow set has not.
  const file = deno.makeTempFileSync({ suffix: '.ts' });
  deno.writeTextFileSync(file, probe);
  let out;
  try {
    out = await new deno.Command(deno.execPath(), { args: ['run', '--no-check', '--node-modules-dir=none', '--config', new URL('../../deno.json', import.meta.url).pathname, '--allow-read', '--allow-env', '--allow-sys', file], stdout: 'piped', stderr: 'piped' }).output();
  } finally {
    deno.removeSync(file);
  }
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const answer = JSON.parse(new TextDecoder().decode(out.stdout).trim()) as { workers: string; missing: string | null };
  assert.equal(answer.workers, 'undefined');
  assert.match(answer.missing ?? '', /--allow-run/);
});

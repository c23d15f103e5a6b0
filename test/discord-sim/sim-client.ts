import { constants, createInflate } from 'node:zlib';
import WebSocket from 'ws';
import { waitFor } from '../helpers/wait-for.ts';

export interface Payload {
  op: number;
  d: any;
  s: number | null;
  t: string | null;
}

/**
 * A bare gateway client for the sim's tests: records every payload (inflating zlib-stream
 * frames with one context) and the close code, and lets tests wait for either.
 */
export class SimClient {
  readonly ws: WebSocket;
  readonly received: Payload[] = [];
  readonly binaryFrames: Buffer[] = [];
  readonly texts: string[] = [];
  inflateError: Error | null = null;
  closeCode: number | null = null;
  closeReason = '';
  #inflate = createInflate();
  #inflated: Buffer[] = [];
  #cursor = 0;

  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.#inflate.on('data', (chunk: Buffer) => this.#inflated.push(chunk));
    this.#inflate.on('error', (error) => {
      this.inflateError = error;
    });
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        const text = data.toString();
        this.texts.push(text);
        try {
          this.received.push(JSON.parse(text) as Payload);
        } catch {
          // Fault tests send garbage on purpose; it stays visible in `texts`.
        }
        return;
      }
      this.binaryFrames.push(data);
      this.#inflate.write(data);
      this.#inflate.flush(constants.Z_SYNC_FLUSH, () => {
        const text = Buffer.concat(this.#inflated).toString();
        this.#inflated = [];
        if (text.length > 0) this.received.push(JSON.parse(text) as Payload);
      });
    });
    this.ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    this.ws.on('error', () => {});
  }

  static async connect(url: string): Promise<SimClient> {
    const client = new SimClient(url);
    await new Promise<void>((resolve, reject) => {
      client.ws.once('open', () => resolve());
      client.ws.once('error', reject);
    });
    return client;
  }

  send(op: number, d: unknown): void {
    this.ws.send(JSON.stringify({ op, d }));
  }

  /** Waits for the next payload after the previous `next()` that matches. */
  async next(match: (p: Payload) => boolean = () => true, timeoutMs = 10_000): Promise<Payload> {
    return waitFor(() => {
      for (let i = this.#cursor; i < this.received.length; i += 1) {
        if (match(this.received[i]!)) {
          this.#cursor = i + 1;
          return this.received[i]!;
        }
      }
      return undefined;
    }, { timeoutMs, message: 'gateway payload' });
  }

  dispatches(): Payload[] {
    return this.received.filter((p) => p.op === 0);
  }

  async closed(timeoutMs = 10_000): Promise<number> {
    return waitFor(() => this.closeCode, { timeoutMs, message: 'socket close' });
  }

  identify(token: string, shard: [number, number], intents: number): void {
    this.send(2, { token, intents, shard, properties: { os: 'linux', browser: 'sim-test', device: 'sim-test' } });
  }

  close(code = 1000): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
    this.#inflate.close();
  }

  terminate(): void {
    this.ws.terminate();
    this.#inflate.close();
  }
}

/** Connects, waits for HELLO, identifies, and waits for READY. */
export async function identifiedClient(
  gatewayUrl: string,
  options: { shard?: [number, number]; intents?: number; compress?: boolean; token?: string } = {},
): Promise<{ client: SimClient; ready: Payload }> {
  const client = await SimClient.connect(`${gatewayUrl}/?v=10&encoding=json${options.compress ? '&compress=zlib-stream' : ''}`);
  await client.next((p) => p.op === 10);
  client.identify(options.token ?? 'fake-token', options.shard ?? [0, 1], options.intents ?? 0b11_1111_1111);
  const ready = await client.next((p) => p.t === 'READY');
  return { client, ready };
}

/** Connects and sends RESUME (HELLO is consumed first). */
export async function resumingClient(url: string, sessionId: string, seq: number, token = 'fake-token'): Promise<SimClient> {
  const client = await SimClient.connect(`${url}?v=10&encoding=json`);
  await client.next((p) => p.op === 10);
  client.send(6, { token, session_id: sessionId, seq });
  return client;
}

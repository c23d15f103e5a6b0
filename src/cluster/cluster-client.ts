import { ShardlineError, type ErrorCode, ERROR_CODES } from '../core/errors.ts';
import type { ResumeInfo } from '../core/resume-info.ts';
import type { HeartbeatRequest, HeartbeatResponse, IdentifyRequest, IdentifyResponse } from './cluster-protocol.ts';
import type { NodeRetireResult, PrepareRequest, RetireRequest, TakeOverRequest } from './reshard-protocol.ts';

export interface ClusterClientOptions {
  readonly clusterSecret: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/** Calls another node's internal routes with the cluster secret; errors keep the remote code. */
export class ClusterClient {
  readonly #secret: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: ClusterClientOptions) {
    this.#secret = options.clusterSecret;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  heartbeat(url: string, body: HeartbeatRequest): Promise<HeartbeatResponse> {
    return this.#post(url, '/internal/heartbeat', body);
  }

  identify(url: string, body: IdentifyRequest): Promise<IdentifyResponse> {
    return this.#post(url, '/internal/identify', body);
  }

  detach(url: string, shardId: number, epoch: number): Promise<ResumeInfo> {
    return this.#post(url, `/internal/shards/${shardId}/detach`, { epoch }, 30_000);
  }

  start(url: string, shardId: number, epoch: number, resume: ResumeInfo | null, set?: { generation: number; shardCount: number }): Promise<void> {
    return this.#post(url, `/internal/shards/${shardId}/start`, { epoch, ...(resume ? { resume } : {}), ...(set ? { set } : {}) });
  }

  reshardPrepare(url: string, body: PrepareRequest): Promise<void> {
    return this.#post(url, '/internal/reshard/prepare', body);
  }

  reshardRetire(url: string, body: RetireRequest): Promise<NodeRetireResult> {
    return this.#post(url, '/internal/reshard/retire', body, 30_000);
  }

  reshardTakeOver(url: string, body: TakeOverRequest): Promise<void> {
    return this.#post(url, '/internal/reshard/take-over', body, 30_000);
  }

  /** Any other internal route (the control plane's forwarded operations); same errors as the rest. */
  call<T>(url: string, path: `/internal/${string}`, body: unknown, timeoutMs?: number): Promise<T> {
    return this.#post(url, path, body, timeoutMs);
  }

  async #post<T>(base: string, path: string, body: unknown, timeoutMs = this.#timeoutMs): Promise<T> {
    let response: Response;
    try {
      response = await this.#fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#secret}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new ShardlineError('GATEWAY_UNAVAILABLE', `Cannot reach ${base}${path}: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = null;
    }
    if (!response.ok) {
      const remote = (json as { error?: { code?: string; message?: string } } | null)?.error;
      const code: ErrorCode = remote?.code && (ERROR_CODES as readonly string[]).includes(remote.code) ? (remote.code as ErrorCode) : 'INTERNAL';
      throw new ShardlineError(code, `${base}${path} answered ${response.status}: ${remote?.message ?? text.slice(0, 200)}`);
    }
    return json as T;
  }
}

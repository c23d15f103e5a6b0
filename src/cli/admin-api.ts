/** One call to a node's admin API, with the failures a terminal user can act on spelled out. */

export type ApiResult = { ok: true; json: unknown } | { ok: false; message: string };

/** Where an admin call goes and with which token; `usage` marks a problem with the command line itself. */
export type AdminTarget = { ok: true; base: string; token: string } | { ok: false; problem: string; usage: boolean };

/** Checks the node's URL and finds the token (never taken from the command line, where `ps` would show it). */
export function adminTarget(url: string, env: Readonly<Record<string, string | undefined>>): AdminTarget {
  const base = url.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(base)) return { ok: false, problem: `--url must be an http:// or https:// URL, got ${JSON.stringify(base)}`, usage: true };
  const token = env['SHARDLINE_ADMIN_TOKEN'];
  if (!token) return { ok: false, problem: 'SHARDLINE_ADMIN_TOKEN is not set: the admin API needs the token the node was started with', usage: false };
  return { ok: true, base, token };
}

export async function callAdminApi(fetchImpl: typeof fetch, base: string, token: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<ApiResult> {
  // fetch would refuse the header itself, and the failure would read like an unreachable node.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return { ok: false, message: 'SHARDLINE_ADMIN_TOKEN holds a character an HTTP header cannot carry (a space, a line break or a non-ASCII letter); set it to the token alone' };
  }
  let response: Response;
  try {
    response = await fetchImpl(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (error as Error).message);
    return { ok: false, message: `cannot reach the node at ${base} (${why}); is it running? Set --url or $SHARDLINE_URL` };
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (response.ok) return { ok: true, json };
  const remote = (json as { error?: { code?: string; message?: string } } | null)?.error;
  const message = remote?.message ?? (text.slice(0, 200) || response.statusText);
  if (response.status === 401) return { ok: false, message: `the node at ${base} refused the admin token (401): ${message}. Check $SHARDLINE_ADMIN_TOKEN` };
  return { ok: false, message: `${message} [${remote?.code ?? response.status}]` };
}

import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { timingSafeEqual } from 'hono/utils/buffer';

/**
 * Browser sessions of the admin API. A page load cannot carry a bearer header, so the
 * dashboard's login form trades the admin token for an HttpOnly cookie. The cookie never
 * holds the token itself: it holds an expiry and an HMAC of it keyed by the token, so every
 * node sharing the token accepts it, and changing the token ends every session.
 */
export const ADMIN_SESSION_COOKIE = 'shardline_admin';
export const ADMIN_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/**
 * A state-changing request authenticated by the cookie must carry this header. SameSite
 * ignores ports, so another local site (127.0.0.1:3000) is "same-site" with a node and could
 * post a form with the cookie; a form cannot add a custom header, and a script from another
 * origin cannot either without a CORS preflight this API never grants.
 */
export const DASHBOARD_HEADER = 'x-shardline-dashboard';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export type SessionCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string } | null;

/** Creates the cookie value for a session that ends at `expiresAt` (epoch ms). */
export async function createSessionValue(token: string, expiresAt: number): Promise<string> {
  return `v1.${expiresAt}.${await sign(token, String(expiresAt))}`;
}

/** Checks a cookie value; null when there is none, `ok: false` with why when it is not good. */
export async function checkSessionValue(value: string | undefined, token: string, now: number): Promise<SessionCheck> {
  if (value === undefined || value === '') return null;
  const match = /^v1\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!match) return { ok: false, reason: 'The dashboard session cookie is malformed; log in again' };
  const expiresAt = Number(match[1]);
  // Compare first, so an expired and a forged cookie cost the same.
  const genuine = await timingSafeEqual(match[2]!, await sign(token, match[1]!));
  if (!genuine) return { ok: false, reason: 'The dashboard session is not valid for this admin token; log in again' };
  if (expiresAt <= now) return { ok: false, reason: 'The dashboard session expired; log in again' };
  return { ok: true };
}

/**
 * The cookie half of the admin guard: null when the request has no session cookie (the
 * caller then asks for a bearer token), otherwise whether the session may make this request.
 */
export async function checkAdminSession(c: Context, token: string, now = Date.now()): Promise<SessionCheck> {
  const check = await checkSessionValue(getCookie(c, ADMIN_SESSION_COOKIE), token, now);
  if (check?.ok && !SAFE_METHODS.has(c.req.method) && c.req.header(DASHBOARD_HEADER) !== '1') {
    return { ok: false, reason: `A dashboard session may change state only from the dashboard (the ${DASHBOARD_HEADER} header is missing)` };
  }
  return check;
}

export async function startAdminSession(c: Context, token: string, now = Date.now()): Promise<void> {
  const expiresAt = now + ADMIN_SESSION_TTL_MS;
  setCookie(c, ADMIN_SESSION_COOKIE, await createSessionValue(token, expiresAt), {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    secure: new URL(c.req.url).protocol === 'https:',
    maxAge: Math.floor(ADMIN_SESSION_TTL_MS / 1000),
  });
}

export function endAdminSession(c: Context): void {
  deleteCookie(c, ADMIN_SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict' });
}

async function sign(token: string, payload: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey('raw', encoder.encode(token), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`shardline-dashboard-session:${payload}`)));
  let binary = '';
  for (const byte of mac) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Dashboard sessions, the same for `voxpipe serve` and the API Lambda: a stateless, HMAC-signed cookie, a CSRF
 * token derived from it, and the same-origin check. Nothing is kept in memory between requests, so it works in
 * a Lambda (no memory between invocations) exactly as in one long-running process.
 *
 * Cookie value: `v1.<payload>.<mac>`, where payload is base64url JSON `{ t: tenant, e: expiry (s), s: session id,
 * k?: sha256 of the API key it was signed in with }` and mac = HMAC-SHA256(key, "voxpipe-session:v1:" + payload).
 * - The key: locally 32 random bytes per `voxpipe serve` process (sessions end with the process); on AWS a
 *   Secrets Manager secret of the stack (rotating it ends every session).
 * - A session signed in with an API key stays bound to it: the key's hash is looked up again on every request
 *   (the same one store read an API call with that key costs), so revoking the key ends its sessions at once.
 * - Sign-out writes `dashboard-sessions/revoked/<session id>` (its expiry) to the job store; a revoked session is
 *   refused. On AWS a lifecycle rule deletes these markers after a day (the cookie has expired by then).
 * - CSRF token = HMAC-SHA256(key, "voxpipe-csrf:v1:" + session id): the app reads it from `/ui/api/session`
 *   (a cross-site page cannot) and sends it in `x-csrf-token` on every change, with a same-origin `Origin`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TENANT_PATTERN } from '../api/api-keys.js';
import type { ApiKeyStore } from '../api/ports.js';
import { revokedSessionKey } from '../core/keys.js';
import type { BlobStore } from '../ports.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'voxpipe_session';
/** Header that carries the CSRF token on state-changing requests. */
export const CSRF_HEADER = 'x-csrf-token';
/** Lifetime of a session. */
export const SESSION_SECONDS = 12 * 3600;

export interface Session {
  readonly tenant: string;
  /** Random id of this session (what sign-out revokes). */
  readonly id: string;
  /** Expiry, seconds since the epoch. */
  readonly expires: number;
  /** sha256 of the API key the session was signed in with (absent for the local one-time link). */
  readonly keyHash?: string;
  /** The CSRF token of this session. */
  readonly csrf: string;
}

export interface SessionOptions {
  /** The HMAC key (at least 32 bytes). */
  readonly key: Uint8Array;
  /** Where revocations are written (the job store). */
  readonly store: BlobStore;
  /** API keys, to check a key-bound session's key still exists. */
  readonly keys: ApiKeyStore;
  /** Mark the cookie `Secure` (AWS: always; locally when the request came over https). */
  readonly secure: boolean | ((headers: Headers) => boolean);
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** @default SESSION_SECONDS */
  readonly ttlSeconds?: number;
}

type Headers = Readonly<Record<string, string | undefined>>;

export interface Sessions {
  /** A new session for `tenant`: the `Set-Cookie` header value and the session. */
  issue(tenant: string, headers: Headers, keyHash?: string): { setCookie: string; session: Session };
  /** The valid session of a request (signature, expiry, not revoked, key still there), or undefined. */
  verify(headers: Headers): Promise<Session | undefined>;
  /** Revoke a session (sign-out). */
  revoke(session: Session): Promise<void>;
  /** The `Set-Cookie` value that removes the cookie. */
  clearCookie(headers: Headers): string;
}

export function createSessions(opts: SessionOptions): Sessions {
  if (opts.key.length < 32) throw new Error('the session key must have at least 32 bytes');
  const now = opts.now ?? Date.now;
  const ttl = opts.ttlSeconds ?? SESSION_SECONDS;
  const mac = (label: string, value: string) => createHmac('sha256', opts.key).update(`${label}:v1:${value}`).digest('base64url');
  const secure = (headers: Headers) => (typeof opts.secure === 'function' ? opts.secure(headers) : opts.secure);
  const attributes = (headers: Headers, maxAge: number) =>
    ['Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAge}`, ...(secure(headers) ? ['Secure'] : [])].join('; ');

  return {
    issue(tenant, headers, keyHash) {
      if (!TENANT_PATTERN.test(tenant)) throw new Error(`not a tenant id: "${tenant}"`);
      const id = randomBytes(18).toString('base64url');
      const expires = Math.floor(now() / 1000) + ttl;
      const payload = Buffer.from(JSON.stringify({ t: tenant, e: expires, s: id, ...(keyHash ? { k: keyHash } : {}) })).toString('base64url');
      const value = `v1.${payload}.${mac('voxpipe-session', payload)}`;
      const session: Session = { tenant, id, expires, ...(keyHash ? { keyHash } : {}), csrf: mac('voxpipe-csrf', id) };
      return { setCookie: `${SESSION_COOKIE}=${value}; ${attributes(headers, ttl)}`, session };
    },
    async verify(headers) {
      const value = cookieValue(headers.cookie, SESSION_COOKIE);
      const [version, payload = '', signature = '', ...rest] = value?.split('.') ?? [];
      if (version !== 'v1' || rest.length > 0) return undefined;
      if (!equal(signature, mac('voxpipe-session', payload))) return undefined;
      let claims: { t?: unknown; e?: unknown; s?: unknown; k?: unknown };
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      } catch {
        return undefined;
      }
      const { t: tenant, e: expires, s: id, k: keyHash } = claims;
      if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant) || typeof id !== 'string' || !/^[\w-]{16,64}$/.test(id)) return undefined;
      if (typeof expires !== 'number' || expires * 1000 <= now()) return undefined;
      if (keyHash !== undefined && (typeof keyHash !== 'string' || (await opts.keys.lookup(keyHash))?.tenant !== tenant)) return undefined;
      if (await opts.store.exists(revokedSessionKey(id))) return undefined;
      return { tenant, id, expires, ...(keyHash ? { keyHash } : {}), csrf: mac('voxpipe-csrf', id) };
    },
    async revoke(session) {
      // The body says until when the marker matters (after that the cookie has expired anyway).
      await opts.store.put(revokedSessionKey(session.id), new Date(session.expires * 1000).toISOString(), { contentType: 'text/plain' });
    },
    clearCookie: (headers) => `${SESSION_COOKIE}=; ${attributes(headers, 0)}`,
  };
}

/**
 * True when a request comes from one of `origins` (e.g. `https://d123.cloudfront.net`): its `Origin` header is one
 * of them, or it has none and is not a cross-site browser request (`Sec-Fetch-Site` absent or same-origin).
 */
export function sameOrigin(headers: Headers, origins: readonly string[]): boolean {
  const origin = headers.origin;
  if (origin === undefined) return headers['sec-fetch-site'] === undefined || headers['sec-fetch-site'] === 'same-origin';
  return origins.includes(origin);
}

/** Why a state-changing request of a session is refused (CSRF), or undefined when it may go on. */
export function csrfRefusal(headers: Headers, session: Session, origins: readonly string[]): string | undefined {
  const token = headers[CSRF_HEADER];
  if (typeof token !== 'string' || !equal(token, session.csrf)) return 'missing or wrong CSRF token';
  if (!sameOrigin(headers, origins)) return 'cross-origin request refused';
  return undefined;
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

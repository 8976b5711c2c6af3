/**
 * The dashboard's signed session cookie (shared/dashboard/session.ts), as both runtimes use it: a cookie that
 * verifies only with its key, untampered, before its expiry, not revoked, and while its API key exists.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiKey, createStoreApiKeys, hashApiKey } from '../../shared/api/api-keys.js';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { apiKeys } from '../../shared/api/records.js';
import { CSRF_HEADER, createSessions, csrfRefusal, SESSION_COOKIE, sameOrigin } from '../../shared/dashboard/session.js';

const dir = mkdtempSync(join(tmpdir(), 'voxpipe-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = createFsStore(dir);
const keys = createStoreApiKeys(store);
let clock = Date.parse('2026-01-01T00:00:00Z');
const make = (key = randomBytes(32)) => createSessions({ key, store, keys, secure: true, now: () => clock });
const cookieOf = (setCookie: string) => ({ cookie: setCookie.split(';')[0] as string });

describe('dashboard sessions', () => {
  it('issues an HttpOnly, Secure, SameSite=Strict cookie with the tenant inside that verifies', async () => {
    const sessions = make();
    const { setCookie, session } = sessions.issue('acme', {});
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=v1\\.[\\w-]+\\.[\\w-]+; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$`));
    expect(await sessions.verify(cookieOf(setCookie))).toMatchObject({ tenant: 'acme', id: session.id, csrf: session.csrf });
  });

  it('refuses a tampered cookie, another key, an expired one and garbage', async () => {
    const key = randomBytes(32);
    const sessions = make(key);
    const { setCookie } = sessions.issue('acme', {});
    const value = (cookieOf(setCookie).cookie.split('=')[1] ?? '').split('.');
    // Same signature, payload claiming another tenant.
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(value[1] ?? '', 'base64url').toString()), t: 'other' })).toString('base64url');
    expect(await sessions.verify({ cookie: `${SESSION_COOKIE}=v1.${forged}.${value[2]}` })).toBeUndefined();
    expect(await make().verify(cookieOf(setCookie))).toBeUndefined();
    expect(await sessions.verify({ cookie: `${SESSION_COOKIE}=v1.e30.AAAA` })).toBeUndefined();
    expect(await sessions.verify({ cookie: `${SESSION_COOKIE}=nonsense` })).toBeUndefined();
    expect(await sessions.verify({})).toBeUndefined();
    clock += 12 * 3600 * 1000;
    expect(await sessions.verify(cookieOf(setCookie))).toBeUndefined();
  });

  it('ends a session at sign-out, and every session of an API key when the key is deleted', async () => {
    const sessions = make();
    const first = sessions.issue('acme', {});
    const second = sessions.issue('acme', {});
    await sessions.revoke(first.session);
    expect(await sessions.verify(cookieOf(first.setCookie))).toBeUndefined();
    expect(await sessions.verify(cookieOf(second.setCookie))).toBeDefined();

    const apiKey = await createApiKey(store, 'acme');
    const bound = sessions.issue('acme', {}, hashApiKey(apiKey));
    expect(await sessions.verify(cookieOf(bound.setCookie))).toBeDefined();
    await store.delete(apiKeys.apiKey(hashApiKey(apiKey)));
    expect(await sessions.verify(cookieOf(bound.setCookie))).toBeUndefined();
  });

  it('needs the CSRF token and a same-origin Origin for changes', () => {
    const { session } = make().issue('acme', {});
    const origins = ['https://d1.cloudfront.net'];
    expect(csrfRefusal({ [CSRF_HEADER]: session.csrf, origin: origins[0] }, session, origins)).toBeUndefined();
    expect(csrfRefusal({ origin: origins[0] }, session, origins)).toMatch(/CSRF/);
    expect(csrfRefusal({ [CSRF_HEADER]: `${session.csrf}x`, origin: origins[0] }, session, origins)).toMatch(/CSRF/);
    expect(csrfRefusal({ [CSRF_HEADER]: session.csrf, origin: 'https://evil.example' }, session, origins)).toMatch(/cross-origin/);
    expect(sameOrigin({ 'sec-fetch-site': 'cross-site' }, origins)).toBe(false);
    expect(sameOrigin({}, origins)).toBe(true);
  });
});

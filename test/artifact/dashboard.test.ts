/**
 * The dashboard on AWS, as `cdk deploy -c dashboard=true` ships it: the cloud assembly's bundled API function
 * (Node 22, the template's environment and IAM, S3/SQS/Secrets Manager doubles) behind the distribution's cache
 * behaviours and the HTTP API's routes (cloudfront.ts), the web app from the BucketDeployment's asset folder.
 *
 * HTTP level: sign-in with an API key sets an HttpOnly, Secure, SameSite=Strict cookie; the cookie lists only its
 * tenant's jobs; no cookie → 401; a change without the CSRF header or from another Origin → 403; a wrong key →
 * 401; a tampered, expired, revoked (signed out) or foreign-key cookie → 401; media and downloads are redirects to
 * presigned S3 GETs (range requests answered by S3). Chromium: sign in through the form, watch the job finish in
 * the list. (In the browser, media and uploads go to presigned URLs of the S3 double on plain http, which the
 * CSP — https only — blocks here; on AWS they are https. So those two are checked at the HTTP level.)
 */
import { hkdfSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../shared/api/api-keys.js';
import { createSessions, SESSION_COOKIE } from '../../shared/dashboard/session.js';
import { toneSpeechFixture } from '../fixtures/audio.js';
import { type Browser, launchChromium } from '../web/browser.js';
import { PIPELINE_CONTEXT } from './artifact-context.js';
import { type DashboardFront, startDashboardFront } from './cloudfront.js';
import { type ArtifactDeployment, deployArtifact } from './deployment.js';
import { type CloudAssembly, synthesizedAssembly, TEST_ENV } from './synth.js';
import { ofType } from './template.js';

const ACME_KEY = 'vxp_acme-artifact-dashboard-key-0000000000000000000';
const GLOBEX_KEY = 'vxp_globex-artifact-dashboard-key-000000000000000000';

let assembly: CloudAssembly;
let front: DashboardFront;
let aws: ArtifactDeployment;
let browser: Browser | undefined;

beforeAll(async () => {
  assembly = await synthesizedAssembly({ ...PIPELINE_CONTEXT, dashboard: 'true' });
  if (assembly.seconds) console.log(`cdk synth -c dashboard=true (CLI, ${TEST_ENV.region}): ${assembly.seconds.toFixed(1)} s`);
  front = await startDashboardFront(assembly);
  // The distribution is https://<id>.cloudfront.net on AWS; here the page's origin is the local front.
  aws = await deployArtifact(assembly, { envOverrides: { ApiHandler: { VOXPIPE_DASHBOARD_ORIGINS: front.url } } });
  front.attach(aws);
  for (const [key, tenant] of [
    [ACME_KEY, 'acme'],
    [GLOBEX_KEY, 'globex'],
  ] as const) {
    await aws.upload(`api-keys/${hashApiKey(key)}.json`, new TextEncoder().encode(JSON.stringify({ tenant, createdAt: new Date().toISOString() })));
  }
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await aws?.close();
  await front?.close();
});

const form = (apiKey: string, origin: string | undefined = front.url) =>
  fetch(`${front.url}/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
    body: new URLSearchParams({ apiKey }),
  });

async function signIn(apiKey: string): Promise<string> {
  const res = await form(apiKey);
  expect(res.status, front.requests.join('\n')).toBe(303);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
}

const ui = (path: string, init: RequestInit & { cookie?: string } = {}) =>
  fetch(`${front.url}/ui/api${path}`, { redirect: 'manual', ...init, headers: { ...(init.cookie ? { cookie: init.cookie } : {}), ...(init.headers as Record<string, string>) } });

/** A cookie signed with the deployment's real session key (as the function derives it), for the given claims. */
function forgeWithRealKey(tenant: string, opts: { now?: number; keyHash?: string } = {}): string {
  const [secretId] = ofType(assembly.template, 'AWS::SecretsManager::Secret').find(([id]) => id.startsWith('DashboardSessionKey')) ?? [];
  const secret = aws.secrets.get(aws.physical.get(secretId ?? '')?.ref ?? '') ?? '';
  const key = new Uint8Array(hkdfSync('sha256', secret, 'voxpipe', 'dashboard session v1', 32));
  const sessions = createSessions({ key, store: undefined as never, keys: undefined as never, secure: true, ...(opts.now ? { now: () => opts.now as number } : {}) });
  return sessions.issue(tenant, {}, opts.keyHash).setCookie.split(';')[0] as string;
}

describe('artifact: the dashboard behind CloudFront and the HTTP API', () => {
  let acmeCookie = '';
  let acmeJob = '';
  let globexJob = '';

  it('serves the app shell from the asset bucket with the security headers, and refuses the API without a cookie', { timeout: 120_000 }, async () => {
    const shell = await fetch(`${front.url}/`);
    expect(shell.status).toBe(200);
    expect(await shell.text()).toContain('<script type="module" src="/app.js">');
    expect(shell.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${front.url}/signin`)).headers.get('content-type')).toContain('text/html');
    expect((await ui('/jobs')).status, front.requests.join('\n')).toBe(401);
    expect((await ui('/session')).status).toBe(401);
    expect((await ui('/jobs', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });

  it('signs in with an API key: HttpOnly, Secure, SameSite=Strict cookie; a wrong key or another Origin is refused', { timeout: 120_000 }, async () => {
    expect((await form('vxp_wrong')).status).toBe(401);
    expect((await form(ACME_KEY, 'https://evil.example')).status).toBe(403);
    const res = await form(ACME_KEY);
    expect(res.status, front.requests.join('\n')).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=v1\\.[\\w-]+\\.[\\w-]+; `));
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) expect(setCookie).toContain(attr);
    acmeCookie = setCookie.split(';')[0] as string;
    const session = await ui('/session', { cookie: acmeCookie });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ tenant: 'acme', csrfToken: expect.any(String) });
  });

  it('needs the CSRF header and a same-origin Origin for changes; the cookie sees only its tenant’s jobs', { timeout: 240_000 }, async () => {
    const { csrfToken } = (await (await ui('/session', { cookie: acmeCookie })).json()) as { csrfToken: string };
    const create = (headers: Record<string, string>) =>
      ui('/jobs', { method: 'POST', cookie: acmeCookie, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ source: { upload: true, fileName: 'meeting.mp3' }, options: { words: true } }) });
    expect((await create({ origin: front.url })).status).toBe(403); // no CSRF header
    expect((await create({ origin: front.url, 'x-csrf-token': 'forged' })).status).toBe(403);
    expect((await create({ origin: 'https://evil.example', 'x-csrf-token': csrfToken })).status).toBe(403);
    expect((await create({ 'sec-fetch-site': 'cross-site', 'x-csrf-token': csrfToken })).status).toBe(403);
    const created = await create({ origin: front.url, 'x-csrf-token': csrfToken });
    expect(created.status, front.requests.join('\n')).toBe(202);
    const { jobId, uploadUrl } = (await created.json()) as { jobId: string; uploadUrl: string };
    acmeJob = jobId;
    // The upload goes to S3 (the presigned URL), which notifies the pipeline.
    const { path } = await toneSpeechFixture({ seed: 13, durationSeconds: 20, format: 'mp3' });
    const put = await fetch(uploadUrl, { method: 'PUT', body: await readFile(path) });
    expect(put.status, await put.text()).toBe(200);

    // Another tenant's job, through the job API with its key.
    const other = await fetch(`${front.url}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${GLOBEX_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ source: { upload: true, fileName: 'secret.mp3' } }),
    });
    expect(other.status).toBe(202);
    globexJob = ((await other.json()) as { jobId: string }).jobId;

    const list = (await (await ui('/jobs', { cookie: acmeCookie })).json()) as { jobs: { jobId: string }[] };
    expect(list.jobs.map((j) => j.jobId)).toEqual([acmeJob]);
    expect((await ui(`/jobs/${globexJob}`, { cookie: acmeCookie })).status).toBe(404);
    const globexCookie = await signIn(GLOBEX_KEY);
    expect(((await (await ui('/jobs', { cookie: globexCookie })).json()) as { jobs: { jobId: string }[] }).jobs.map((j) => j.jobId)).toEqual([globexJob]);
  });

  it('refuses a tampered, expired, foreign-key or signed-out cookie', { timeout: 120_000 }, async () => {
    const [name, value = ''] = acmeCookie.split('=');
    const [v, payload = '', mac = ''] = value.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const asGlobex = Buffer.from(JSON.stringify({ ...claims, t: 'globex' })).toString('base64url');
    expect((await ui('/jobs', { cookie: `${name}=${v}.${asGlobex}.${mac}` })).status).toBe(401);
    expect((await ui('/jobs', { cookie: `${name}=${v}.${payload}.${mac.slice(0, -2)}AA` })).status).toBe(401);
    // Signed with the real key: valid claims pass (the control), expired ones and unknown API keys do not.
    expect((await ui('/jobs', { cookie: forgeWithRealKey('acme') })).status).toBe(200);
    expect((await ui('/jobs', { cookie: forgeWithRealKey('acme', { now: Date.now() - 13 * 3600 * 1000 }) })).status).toBe(401);
    expect((await ui('/jobs', { cookie: forgeWithRealKey('acme', { keyHash: hashApiKey('vxp_deleted') }) })).status).toBe(401);
    // Sign-out revokes the session server-side and clears the cookie.
    const cookie = await signIn(ACME_KEY);
    expect((await ui('/jobs', { cookie })).status).toBe(200);
    const out = await fetch(`${front.url}/signout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: front.url } });
    expect(out.status).toBe(303);
    expect(out.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    expect((await ui('/jobs', { cookie })).status).toBe(401);
    expect(aws.gateway.denied, 'AWS calls denied by the template’s IAM policies').toEqual([]);
  });

  it('in chromium: signs in through the form, no token in any URL, watches the job finish, signs out', { timeout: 300_000 }, async () => {
    browser = await launchChromium();
    const page: Page = await browser.context.newPage();
    const site = front.url;
    const console_: string[] = [];
    page.on('console', (m) => console_.push(`${m.type()}: ${m.text()}`));
    page.on('framenavigated', (f) => console_.push(`navigated ${f.url()}`));
    await page.goto(`${site}/`);
    // The static app finds no session and goes to the sign-in form the function serves.
    await page.waitForURL(`${site}/signin`);
    await page.fill('#apiKey', ACME_KEY);
    await page.click('button[type=submit]');
    await page.waitForSelector('tr[data-job]', { timeout: 60_000 }).catch((err) => {
      throw new Error(`${err.message}\n${console_.join('\n')}\n${front.requests.slice(-20).join('\n')}`);
    });
    const cookies = await browser.context.cookies();
    expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, secure: c.secure, sameSite: c.sameSite }))).toEqual([
      { name: SESSION_COOKIE, httpOnly: true, secure: true, sameSite: 'Strict' },
    ]);
    expect(await page.evaluate(() => (globalThis as any).document.cookie)).toBe('');
    expect(page.url()).toBe(`${site}/`);
    const row = page.locator(`tr[data-job="${acmeJob}"]`);
    await row.waitFor({ timeout: 60_000 });
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 180_000, interval: 1000 }).toBe('completed');
    expect(await page.locator('tr[data-job]').count()).toBe(1); // globex's job is not in acme's list
    await expect.poll(() => page.evaluate(() => (globalThis as any).document.body.dataset.tenant)).toBe('acme'); // set when the session loads
    // Sign out: back to the form, and the session is over (the cookie is gone and revoked).
    const [signedIn] = await browser.context.cookies();
    await page.click('form.signout button');
    await page.waitForURL(`${site}/signin`);
    expect(await browser.context.cookies()).toEqual([]);
    expect((await ui('/session', { cookie: `${signedIn?.name}=${signedIn?.value}` })).status).toBe(401);
  });

  it('plays the source and downloads results through presigned S3 GETs (range requests)', { timeout: 240_000 }, async () => {
    const state = async () => ((await (await ui(`/jobs/${acmeJob}`, { cookie: acmeCookie })).json()) as { state: string }).state;
    await expect.poll(state, { timeout: 180_000, interval: 1000 }).toBe('completed');
    const media = await ui(`/jobs/${acmeJob}/media`, { cookie: acmeCookie });
    expect(media.status, front.requests.join('\n')).toBe(302);
    const ranged = await fetch(media.headers.get('location') ?? '', { headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(100);
    const srt = await ui(`/jobs/${acmeJob}/download/srt`, { cookie: acmeCookie });
    expect(srt.status).toBe(302);
    const file = await fetch(srt.headers.get('location') ?? '');
    expect(file.status).toBe(200);
    expect(await file.text()).toMatch(/^1\r?\n00:00:/);
    expect((await ui(`/jobs/${globexJob}/media`, { cookie: acmeCookie })).status).toBe(404);
    expect(aws.gateway.denied, 'AWS calls denied by the template’s IAM policies').toEqual([]);
  });
});

/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against `voxpipe serve` as a
 * child process, the embedded pipeline and an OpenAI-compatible provider double that decodes tone-speech:
 * sign in with the printed one-time link, upload by the file picker (the drop zone's input), watch the job
 * finish, open the viewer, seek by clicking a segment, correct a segment and see the SRT change. Requests
 * without the session cookie (or without the CSRF token) are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { type ProviderDouble, startProviderDouble } from '../doubles/provider-server.js';
import { scratchDir, toneSpeechFixture } from '../fixtures/audio.js';
import { recognizeTones } from '../fixtures/tone-speech.js';
import { voxpipe } from '../e2e/run-cli.js';
import { type Browser, launchChromium } from './browser.js';
import { CONTRAST_CHECK } from './contrast.js';
import { type Served, serveDashboard } from './served.js';

// page.evaluate callbacks run in the page; this project type-checks tests without the DOM lib, hence `globalThis as any`.

describe('dashboard in chromium', () => {
  let double: ProviderDouble;
  let server: Served;
  let browser: Browser;
  let page: Page;
  let audio: string;
  let workDir: string;

  beforeAll(async () => {
    double = await startProviderDouble({ vendor: 'openai-compatible', recognize: recognizeTones, apiKey: 'test-key', latencyMs: () => 150 });
    audio = (await toneSpeechFixture({ seed: 7, durationSeconds: 30, format: 'mp3' })).path;
    workDir = await scratchDir('dashboard');
    server = await serveDashboard(workDir, {
      VOXPIPE_PROVIDER: 'openai-compatible',
      VOXPIPE_MODEL: 'whisper-1',
      VOXPIPE_BASE_URL: double.url,
      VOXPIPE_API_KEY: 'test-key',
      VOXPIPE_CONCURRENCY: '1',
      VOXPIPE_CHUNK_SECONDS: '10',
      VOXPIPE_TIMEOUT_SECONDS: '10',
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await double?.close();
  });

  it('refuses /ui/api without the session cookie', async () => {
    const res = await fetch(`${server.url}/ui/api/jobs`);
    expect(res.status).toBe(401);
    const post = await fetch(`${server.url}/ui/api/jobs`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(post.status).toBe(401);
    // The app shell without a session is the sign-in page, not the app.
    expect(await (await fetch(`${server.url}/`)).text()).toContain('name="apiKey"');
  });

  it('signs in with the one-time link: HttpOnly SameSite=Strict cookie, no token left in the URL, link spent', async () => {
    expect(server.stdout).toMatch(/^Dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=\S+$/m);
    await page.goto(server.dashboardUrl);
    await page.waitForSelector('#dropzone');
    expect(page.url()).toBe(`${server.url}/`);
    const cookies = await browser.context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'voxpipe_session', httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => (globalThis as any).document.cookie)).toBe(''); // invisible to scripts

    // The link works once.
    expect((await fetch(server.dashboardUrl, { redirect: 'manual' })).status).toBe(403);
    // With the cookie but without the CSRF header, a state change is refused.
    const csrfless = await page.evaluate(async () => (await fetch('/ui/api/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source: { upload: true } }) })).status);
    expect(csrfless).toBe(403);
  });

  it('signs in with an API key through the form (same origin only) and refuses a wrong key', async () => {
    const created = await voxpipe(['api-keys', 'create', 'acme', '--work-dir', workDir]);
    const key = created.stdout.trim();
    const form = (apiKey: string, origin: string) =>
      fetch(`${server.url}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin }, body: new URLSearchParams({ apiKey }) });
    const ok = await form(key, server.url);
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^voxpipe_session=[\w.-]+; Path=\/; HttpOnly; SameSite=Strict/);
    const session = await fetch(`${server.url}/ui/api/session`, { headers: { cookie: cookie.split(';')[0] as string } });
    expect(((await session.json()) as { tenant: string }).tenant).toBe('acme');
    expect((await form('vxp_wrong', server.url)).status).toBe(401);
    expect((await form(key, 'https://evil.example')).status).toBe(403);

    // The same in chromium: the form's POST carries the page's Origin (the pages' referrer policy must allow it),
    // and Sign out ends the session.
    const other = await launchChromium();
    try {
      const tab = await other.context.newPage();
      await tab.goto(`${server.url}/signin`);
      await tab.fill('#apiKey', key);
      await tab.click('button[type=submit]');
      await expect.poll(() => tab.evaluate(() => (globalThis as any).document.body.dataset.tenant ?? ''), { timeout: 30_000 }).toBe('acme');
      await tab.click('form.signout button');
      await tab.waitForURL(`${server.url}/signin`);
      expect(await tab.evaluate(async () => (await fetch('/ui/api/session')).status)).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('uploads a file, watches the job finish, opens the viewer, seeks by clicking a segment and corrects it', async () => {
    await page.setInputFiles('#upload-input', audio);
    const row = page.locator('tr[data-job]').first();
    await row.waitFor();
    // Live progress: the row moves on by itself (polling) until it is completed.
    const states = new Set<string>();
    await expect
      .poll(async () => {
        const state = (await row.getAttribute('data-state')) ?? '';
        states.add(state);
        return state;
      }, { timeout: 90_000, interval: 200 })
      .toBe('completed');
    expect([...states].some((s) => s !== 'completed')).toBe(true);
    const jobId = (await row.getAttribute('data-job')) as string;
    expect(await row.locator('td').nth(3).textContent()).toMatch(/^0:(29|30|31)$/);

    // The viewer: every segment carries the markup contract.
    await row.locator('a.job-link').click();
    await page.waitForSelector('#transcript .seg');
    const segs = page.locator('#transcript .seg');
    expect(await segs.count()).toBeGreaterThan(1);
    for (const attr of ['data-start', 'data-end', 'data-speaker']) {
      expect(await page.locator(`#transcript .seg:not([${attr}])`).count()).toBe(0);
    }
    // The source plays from the store with range requests.
    const range = await page.evaluate(async (id) => {
      const r = await fetch(`/ui/api/jobs/${id}/media`, { headers: { range: 'bytes=100-199' } });
      return { status: r.status, range: r.headers.get('content-range'), length: (await r.arrayBuffer()).byteLength };
    }, jobId);
    expect(range).toMatchObject({ status: 206, length: 100 });
    expect(range.range).toMatch(/^bytes 100-199\/\d+$/);

    // Clicking a segment seeks the player there and highlights it.
    const second = segs.nth(1);
    const start = Number(await second.getAttribute('data-start'));
    expect(start).toBeGreaterThan(0);
    await page.waitForFunction(() => (globalThis as any).document.getElementById('player').readyState >= 1, undefined, { timeout: 30_000 });
    const currentTime = () => page.evaluate(() => (globalThis as any).document.getElementById('player').currentTime as number);
    await second.click({ position: { x: 2, y: 4 } });
    await expect.poll(currentTime).toBeCloseTo(start, 1);
    await expect.poll(() => second.getAttribute('class')).toContain('current');
    // Clicking a word seeks to that word: the last word of the third segment starts inside it, after its start.
    const third = segs.nth(2);
    const [from, to] = [Number(await third.getAttribute('data-start')), Number(await third.getAttribute('data-end'))];
    const box = (await third.locator('.text').boundingBox())!;
    const textWidth = await third.locator('.text').evaluate((el) => {
      const r = (globalThis as any).document.createRange();
      r.selectNodeContents(el);
      return r.getBoundingClientRect().width as number;
    });
    await page.mouse.click(box.x + textWidth - 3, box.y + box.height / 2);
    await expect.poll(currentTime).toBeGreaterThan(from + 0.05);
    expect(await currentTime()).toBeLessThan(to);
    await second.click({ position: { x: 2, y: 4 } });
    await expect.poll(() => second.getAttribute('class')).toContain('current');

    // WCAG AA: every visible text in the viewer has at least 4.5:1 against its effective background.
    const lowContrast = (await page.evaluate(CONTRAST_CHECK)) as string[];
    expect(lowContrast).toEqual([]);

    // Keyboard: e edits the current segment; save makes revision 1 and re-renders the SRT.
    const srtBefore = await page.evaluate(async (id) => (await fetch(`/ui/api/jobs/${id}/download/srt`)).text(), jobId);
    await page.locator('body').press('e');
    const editor = page.locator('#transcript .seg .editor');
    await editor.waitFor();
    await editor.locator('textarea').fill('corrected by a human');
    await editor.locator('button.save').click();
    await expect.poll(() => page.locator('#status').textContent()).toContain('Saved revision 1');
    await expect.poll(() => page.locator('#revision').textContent()).toContain('revision 1');
    expect(await page.locator('#transcript .seg').nth(1).locator('.text').textContent()).toBe('corrected by a human');

    const srtAfter = await page.evaluate(async (id) => (await fetch(`/ui/api/jobs/${id}/download/srt`)).text(), jobId);
    expect(srtAfter).not.toBe(srtBefore);
    expect(srtAfter).toContain('corrected by a human');
    expect(srtBefore).not.toContain('corrected by a human');
  });
});

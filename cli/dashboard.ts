/**
 * The web dashboard of `voxpipe serve`: sign-in, the session, the static app (web/, bundled with esbuild)
 * and `/ui/api/*`, which is the job API (shared/api, the same handler the Lambda runs) behind a session
 * cookie instead of an API key.
 *
 * - Sign-in: `voxpipe serve` prints a one-time URL (`Dashboard: http://127.0.0.1:PORT/?token=…`, as Jupyter
 *   does); opening it starts a session for the dashboard tenant and redirects to `/`, so the token leaves the
 *   address bar at once and cannot be used twice. Or sign in with an API key (the form at `/`), which starts a
 *   session for that key's tenant: the way in on AWS too.
 * - Session: a random id in a cookie that is HttpOnly, SameSite=Strict and Path=/ (Secure over https), kept in
 *   memory for 12 hours. The browser never sees an API key: each session holds a random internal key that only
 *   this process accepts (see `keys`).
 * - CSRF: every state-changing `/ui/api` request must carry the session's token in `x-csrf-token` (a custom
 *   header: a cross-site form cannot send one, a cross-site script cannot read the token) and, when the browser
 *   sends one, an `Origin` equal to the server's own. The sign-in form checks `Origin` too.
 * - Media: `/ui/api/jobs/{id}/media` serves the job's stored source with HTTP range requests (seeking).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { hashApiKey, TENANT_PATTERN } from '../shared/api/api-keys.js';
import type { ApiRequest, ApiResponse } from '../shared/api/handler.js';
import type { ApiKeyStore, ApiPrincipal } from '../shared/api/ports.js';
import { errorMessage } from '../shared/core/errors.js';
import { createWebhookDelivery, storeDeadLetters } from '../shared/adapters/webhook-delivery.js';
import { createWebhookNotifier } from '../shared/adapters/webhook-notifier.js';
import type { VoxpipeConfig } from '../shared/config.js';
import type { BlobStore, Logger, Notifier } from '../shared/ports.js';
import { systemClock } from '../shared/providers/call-policy.js';
import { LOCAL_WEBHOOK_SCHEDULE_MS } from './local-pipeline.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'voxpipe_session';
/** Header that carries the CSRF token on state-changing requests. */
export const CSRF_HEADER = 'x-csrf-token';
const SESSION_MS = 12 * 3600 * 1000;
const WEB_DIR = join(import.meta.dirname, '..', 'web');

interface Session {
  readonly tenant: string;
  readonly csrf: string;
  /** The internal API key of this session (never sent to the browser). */
  readonly key: string;
  readonly expires: number;
}

export interface DashboardOptions {
  /** Tenant of the one-time sign-in URL. */
  readonly tenant: string;
  /** The API keys users have (the sign-in form checks them). */
  readonly storeKeys: ApiKeyStore;
  /** Where a stored object lives on disk (the fs store keeps `<root>/<key>`). */
  readonly pathOf: (key: string) => string;
  readonly logger: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

export interface Dashboard {
  /** The API keys the job API accepts: the stored ones plus those of live sessions. */
  readonly keys: ApiKeyStore;
  /** The one-time sign-in URL (`<base>/?token=…`), valid until used. */
  signInUrl(base: string): string;
  /** Serve the request when it is the dashboard's; false when it is not (the job API's, `/files/…`). */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, api: (req: ApiRequest) => Promise<ApiResponse>): Promise<boolean>;
}

export function createDashboard(opts: DashboardOptions): Dashboard {
  if (!TENANT_PATTERN.test(opts.tenant)) throw new Error(`dashboard tenant "${opts.tenant}": use 1–63 lowercase letters, digits, "-" and "_"`);
  const now = opts.now ?? Date.now;
  const sessions = new Map<string, Session>();
  const sessionKeys = new Map<string, ApiPrincipal>();
  let oneTimeToken: string | undefined = randomBytes(24).toString('base64url');
  let bundle: Promise<string> | undefined;

  const keys: ApiKeyStore = {
    async lookup(hash) {
      return sessionKeys.get(hash) ?? opts.storeKeys.lookup(hash);
    },
  };

  function startSession(res: ServerResponse, tenant: string, secure: boolean): void {
    const id = randomBytes(32).toString('base64url');
    const key = `vxs_${randomBytes(32).toString('base64url')}`;
    sessions.set(id, { tenant, csrf: randomBytes(24).toString('base64url'), key, expires: now() + SESSION_MS });
    sessionKeys.set(hashApiKey(key), { tenant });
    const attrs = ['Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${SESSION_MS / 1000}`, ...(secure ? ['Secure'] : [])];
    res.setHeader('set-cookie', `${SESSION_COOKIE}=${id}; ${attrs.join('; ')}`);
  }

  function sessionOf(req: IncomingMessage): { id: string; session: Session } | undefined {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const session = id ? sessions.get(id) : undefined;
    if (!id || !session) return undefined;
    if (session.expires < now()) {
      endSession(id);
      return undefined;
    }
    return { id, session };
  }

  function endSession(id: string): void {
    const session = sessions.get(id);
    if (session) sessionKeys.delete(hashApiKey(session.key));
    sessions.delete(id);
  }

  /** True when the request comes from this origin (or from no browser page at all: no Origin header). */
  function sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return req.headers['sec-fetch-site'] === undefined || req.headers['sec-fetch-site'] === 'same-origin';
    return origin === `http://${req.headers.host}` || origin === `https://${req.headers.host}`;
  }

  async function appScript(): Promise<string> {
    bundle ??= buildWebBundle().catch((err) => {
      bundle = undefined;
      throw err;
    });
    return bundle;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, api: (req: ApiRequest) => Promise<ApiResponse>): Promise<boolean> {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const secure = (req.headers['x-forwarded-proto'] ?? '') === 'https';
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      const token = url.searchParams.get('token');
      if (token !== null) {
        if (oneTimeToken === undefined || !equal(token, oneTimeToken)) {
          sendHtml(res, 403, signInPage('This sign-in link was already used or is not valid. Sign in with an API key, or restart voxpipe serve for a new link.'));
          return true;
        }
        oneTimeToken = undefined;
        startSession(res, opts.tenant, secure);
        res.writeHead(303, { location: '/', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
        res.end();
        return true;
      }
      return sendHtml(res, 200, sessionOf(req) ? appPage() : signInPage());
    }
    if (path === '/signin' && method === 'POST') {
      if (!sameOrigin(req)) return sendHtml(res, 403, signInPage('Sign-in refused: the form was not sent from this page.'));
      const form = new URLSearchParams((await readSmallBody(req)) ?? '');
      const key = form.get('apiKey')?.trim() ?? '';
      const principal = key ? await opts.storeKeys.lookup(hashApiKey(key)) : undefined;
      if (!principal) return sendHtml(res, 401, signInPage('That API key is not valid.'));
      startSession(res, principal.tenant, secure);
      res.writeHead(303, { location: '/', 'cache-control': 'no-store' });
      res.end();
      return true;
    }
    if (path === '/signout' && method === 'POST') {
      const current = sessionOf(req);
      if (current && sameOrigin(req)) endSession(current.id);
      res.writeHead(303, { location: '/', 'set-cookie': `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`, 'cache-control': 'no-store' });
      res.end();
      return true;
    }
    if (path === '/app.js' && method === 'GET') {
      try {
        send(res, 200, 'text/javascript; charset=utf-8', await appScript());
      } catch (err) {
        opts.logger.error('dashboard bundle failed', { error: errorMessage(err) });
        send(res, 500, 'text/plain; charset=utf-8', `dashboard bundle failed: ${errorMessage(err)}`);
      }
      return true;
    }
    if (path === '/app.css' && method === 'GET') {
      send(res, 200, 'text/css; charset=utf-8', await readFile(join(WEB_DIR, 'app.css'), 'utf8'));
      return true;
    }
    if (!path.startsWith('/ui/api/')) return false;

    const current = sessionOf(req);
    if (!current) return sendJson(res, 401, { error: { code: 'unauthorized', message: 'not signed in: open the sign-in link voxpipe serve printed, or sign in with an API key' } });
    const { session } = current;
    if (method !== 'GET' && method !== 'HEAD') {
      const csrf = req.headers[CSRF_HEADER];
      if (typeof csrf !== 'string' || !equal(csrf, session.csrf) || !sameOrigin(req)) {
        return sendJson(res, 403, { error: { code: 'forbidden', message: 'missing or wrong CSRF token' } });
      }
    }
    const sub = path.slice('/ui/api'.length);
    const auth = { authorization: `Bearer ${session.key}` };
    const call = (m: string, p: string, query: Record<string, string> = {}, body?: string) => api({ method: m, path: p, query, headers: auth, body });

    if (sub === '/session') return sendJson(res, 200, { tenant: session.tenant, csrfToken: session.csrf });
    const media = /^\/jobs\/([^/]+)\/media$/.exec(sub);
    if (media && (method === 'GET' || method === 'HEAD')) {
      const job = await call('GET', `/jobs/${media[1]}`);
      if (job.status !== 200) return sendJson(res, job.status, job.body);
      await sendRange(req, res, opts.pathOf((job.body as { source: { key: string } }).source.key));
      return true;
    }
    const download = /^\/jobs\/([^/]+)\/download\/(json|txt|srt|vtt)$/.exec(sub);
    if (download && method === 'GET') {
      const [, jobId, ext] = download as unknown as [string, string, 'json' | 'txt' | 'srt' | 'vtt'];
      const job = await call('GET', `/jobs/${jobId}`);
      if (job.status !== 200) return sendJson(res, job.status, job.body);
      try {
        const bytes = await readFile(opts.pathOf(`results/${jobId}/transcript.${ext}`));
        res.writeHead(200, {
          'content-type': DOWNLOAD_TYPES[ext],
          'content-disposition': `attachment; filename="${jobId}.${ext}"`,
          'cache-control': 'no-store',
        });
        res.end(bytes);
      } catch {
        sendJson(res, 404, { error: { code: 'not_found', message: `job ${jobId} has no ${ext} result` } });
      }
      return true;
    }
    if (sub === '/jobs' && method === 'GET') {
      // The list with what a person looks for at a glance: duration, cost, progress (one job view per job).
      const list = await call('GET', '/jobs', Object.fromEntries(url.searchParams));
      if (list.status !== 200) return sendJson(res, list.status, list.body);
      const jobs = (list.body as { jobs: { jobId: string }[] }).jobs;
      const views = await Promise.all(jobs.map(async (j) => (await call('GET', `/jobs/${j.jobId}`)).body));
      return sendJson(res, 200, { jobs: views });
    }
    // Everything else is the job API as it is.
    const body = method === 'GET' || method === 'HEAD' ? undefined : ((await readSmallBody(req)) ?? undefined);
    const response = await call(method, sub, Object.fromEntries(url.searchParams), body);
    res.writeHead(response.status, response.headers);
    res.end(JSON.stringify(response.body));
    return true;
  }

  return {
    keys,
    signInUrl: (base) => (oneTimeToken ? `${base}/?token=${oneTimeToken}` : `${base}/`),
    handle,
  };
}

/** Bundle web/src/main.ts with esbuild (in memory, once per server). */
export async function buildWebBundle(): Promise<string> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [join(WEB_DIR, 'src', 'main.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    minify: true,
    target: ['chrome110', 'firefox110', 'safari16'],
    logLevel: 'silent',
  });
  return out.outputFiles[0]?.text ?? '';
}

const DOWNLOAD_TYPES = { json: 'application/json', txt: 'text/plain; charset=utf-8', srt: 'application/x-subrip', vtt: 'text/vtt' } as const;

const MEDIA_TYPES: Record<string, string> = {
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.ogg': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.m4a': 'audio/mp4',
  '.aac': 'audio/aac',
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
};

/** A file with HTTP range support (one range: what media elements ask for). */
async function sendRange(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    sendJson(res, 404, { error: { code: 'not_found', message: 'the source of this job is not stored (any more)' } });
    return;
  }
  const type = MEDIA_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const base = { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'private, max-age=300' };
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (req.headers.range === undefined || !range) {
    res.writeHead(200, { ...base, 'content-length': String(size) });
    if (req.method === 'HEAD') return void res.end();
    return void createReadStream(file).pipe(res);
  }
  let start = range[1] ? Number(range[1]) : size - Number(range[2]);
  let end = range[1] && range[2] ? Number(range[2]) : size - 1;
  start = Math.max(0, start);
  end = Math.min(end, size - 1);
  if (!(start <= end) || start >= size) {
    res.writeHead(416, { ...base, 'content-range': `bytes */${size}` });
    return void res.end();
  }
  res.writeHead(206, { ...base, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': String(end - start + 1) });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file, { start, end }).pipe(res);
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

function appPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>voxpipe</title><link rel="stylesheet" href="/app.css"></head>
<body><div id="app"><p class="loading">Loading…</p></div><script type="module" src="/app.js"></script></body></html>
`;
}

function signInPage(message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · voxpipe</title><link rel="stylesheet" href="/app.css"></head>
<body><main class="signin">
<h1>voxpipe</h1>
<p>Open the sign-in link <code>voxpipe serve</code> printed (<code>Dashboard: http://127.0.0.1:…</code>), or sign in with an API key.</p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/signin">
<label for="apiKey">API key</label>
<input id="apiKey" name="apiKey" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>
</main></body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function sendHtml(res: ServerResponse, status: number, html: string): true {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS });
  res.end(html);
  return true;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
  return true;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A request body up to 1 MiB (forms and JSON edits), or null when larger. */
async function readSmallBody(req: IncomingMessage): Promise<string | null> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) return null;
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * Where `job.transcript.edited` goes locally: the configured webhook (`VOXPIPE_WEBHOOK_URL` + secret), signed
 * and retried like the pipeline's own events; undefined when no webhook is configured.
 */
export function createLocalEditNotifier(config: VoxpipeConfig, store: BlobStore, logger: Logger): Notifier | undefined {
  if (!config.webhookUrl || !config.webhookSecret) return undefined;
  const delivery = createWebhookDelivery({
    url: config.webhookUrl,
    secret: config.webhookSecret,
    urlPolicy: { mode: 'local' },
    clock: systemClock,
    schedule: LOCAL_WEBHOOK_SCHEDULE_MS,
    deadLetter: storeDeadLetters(store),
    logger,
  });
  return createWebhookNotifier({ delivery });
}

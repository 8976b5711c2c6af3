/**
 * The web dashboard of `voxpipe serve`: the one-time sign-in link, the static app (web/, bundled with esbuild),
 * and the dashboard routes shared with the API Lambda (shared/dashboard: API-key sign-in, sign-out, the signed
 * session cookie, CSRF, `/ui/api/*` = the job API as the session's tenant).
 *
 * - Sign-in: `voxpipe serve` prints a one-time URL (`Dashboard: http://127.0.0.1:PORT/?token=…`, as Jupyter
 *   does); opening it starts a session for the dashboard tenant and redirects to `/`, so the token leaves the
 *   address bar at once and cannot be used twice. Or sign in with an API key (`/signin`), the way in on AWS too.
 * - Session: shared/dashboard/session.ts, signed with a key made at start (sessions end with the process).
 * - Media: `/ui/api/jobs/{id}/media` serves the job's stored source with HTTP range requests (seeking).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { TENANT_PATTERN } from '../shared/api/api-keys.js';
import type { ApiRequest, ApiResponse } from '../shared/api/handler.js';
import type { ApiKeyStore, ApiPrincipal } from '../shared/api/ports.js';
import { errorMessage } from '../shared/core/errors.js';
import { createWebhookDelivery, storeDeadLetters } from '../shared/adapters/webhook-delivery.js';
import { createWebhookNotifier } from '../shared/adapters/webhook-notifier.js';
import type { VoxpipeConfig } from '../shared/config.js';
import { createDashboardRoutes, html, type UiResponse } from '../shared/dashboard/routes.js';
import { createSessions, equal } from '../shared/dashboard/session.js';
import type { BlobStore, Logger, Notifier } from '../shared/ports.js';
import { systemClock } from '../shared/providers/call-policy.js';
import { LOCAL_WEBHOOK_SCHEDULE_MS } from './local-pipeline.js';

export { CSRF_HEADER, SESSION_COOKIE } from '../shared/dashboard/session.js';
const WEB_DIR = join(import.meta.dirname, '..', 'web');

/** Locally everything is served by this process: no https origins in the page policy. */
const LOCAL_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface DashboardOptions {
  /** Tenant of the one-time sign-in URL. */
  readonly tenant: string;
  /** The API keys users have (the sign-in form checks them). */
  readonly storeKeys: ApiKeyStore;
  /** The job store (sign-outs are recorded there). */
  readonly store: BlobStore;
  /** Where a stored object lives on disk (the fs store keeps `<root>/<key>`). */
  readonly pathOf: (key: string) => string;
  readonly logger: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

export interface Dashboard {
  /** The API keys the job API accepts. */
  readonly keys: ApiKeyStore;
  /** The one-time sign-in URL (`<base>/?token=…`), valid until used. */
  signInUrl(base: string): string;
  /** Serve the request when it is the dashboard's; false when it is not (the job API's, `/files/…`). */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    api: (req: ApiRequest, as?: ApiPrincipal) => Promise<ApiResponse>,
  ): Promise<boolean>;
}

export function createDashboard(opts: DashboardOptions): Dashboard {
  if (!TENANT_PATTERN.test(opts.tenant)) throw new Error(`dashboard tenant "${opts.tenant}": use 1–63 lowercase letters, digits, "-" and "_"`);
  let oneTimeToken: string | undefined = randomBytes(24).toString('base64url');
  let bundle: Promise<string> | undefined;
  const sessions = createSessions({
    key: randomBytes(32),
    store: opts.store,
    keys: opts.storeKeys,
    secure: (headers) => headers['x-forwarded-proto'] === 'https',
    ...(opts.now ? { now: opts.now } : {}),
  });
  let jobApi: ((req: ApiRequest, as?: ApiPrincipal) => Promise<ApiResponse>) | undefined;
  const routes = createDashboardRoutes({
    sessions,
    keys: opts.storeKeys,
    api: (req, as) => (jobApi as NonNullable<typeof jobApi>)(req, as),
    origins: (headers) => [`http://${headers.host}`, `https://${headers.host}`],
    signInHint: 'Open the sign-in link <code>voxpipe serve</code> printed (<code>Dashboard: http://127.0.0.1:…</code>), or:',
    csp: LOCAL_CSP,
  });

  async function appScript(): Promise<string> {
    bundle ??= buildWebBundle().catch((err) => {
      bundle = undefined;
      throw err;
    });
    return bundle;
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    api: (req: ApiRequest, as?: ApiPrincipal) => Promise<ApiResponse>,
  ): Promise<boolean> {
    jobApi = api;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      const token = url.searchParams.get('token');
      if (token !== null) {
        if (oneTimeToken === undefined || !equal(token, oneTimeToken)) {
          return send(res, html(403, routes.signInPage('This sign-in link was already used or is not valid. Sign in with an API key, or restart voxpipe serve for a new link.'), { 'content-security-policy': LOCAL_CSP }));
        }
        oneTimeToken = undefined;
        const { setCookie } = sessions.issue(opts.tenant, headers);
        res.writeHead(303, { location: '/', 'set-cookie': setCookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
        res.end();
        return true;
      }
      if (await sessions.verify(headers)) return send(res, html(200, appPage(), { 'content-security-policy': LOCAL_CSP }));
      return send(res, html(200, routes.signInPage(), { 'content-security-policy': LOCAL_CSP }));
    }
    if (path === '/app.js' && method === 'GET') {
      try {
        sendText(res, 200, 'text/javascript; charset=utf-8', await appScript());
      } catch (err) {
        opts.logger.error('dashboard bundle failed', { error: errorMessage(err) });
        sendText(res, 500, 'text/plain; charset=utf-8', `dashboard bundle failed: ${errorMessage(err)}`);
      }
      return true;
    }
    if (path === '/app.css' && method === 'GET') {
      sendText(res, 200, 'text/css; charset=utf-8', await readFile(join(WEB_DIR, 'app.css'), 'utf8'));
      return true;
    }
    const isDashboardPath = path === '/signin' || path === '/signout' || path.startsWith('/ui/api/');
    if (!isDashboardPath) return false;
    const body = method === 'GET' || method === 'HEAD' ? undefined : await readSmallBody(req);
    if (body === null) return send(res, { kind: 'response', status: 413, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"invalid_request","message":"body over 1 MiB"}}' });
    const result = await routes.handle({ method, path, query: Object.fromEntries(url.searchParams), headers, ...(body === undefined ? {} : { body }) });
    if (!result) return false;
    if (result.kind === 'media') {
      await sendRange(req, res, opts.pathOf(result.key));
      return true;
    }
    if (result.kind === 'download') {
      try {
        const bytes = await readFile(opts.pathOf(result.key));
        res.writeHead(200, { 'content-type': result.contentType, 'content-disposition': `attachment; filename="${result.fileName}"`, 'cache-control': 'no-store' });
        res.end(bytes);
      } catch {
        send(res, { kind: 'response', status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 'not_found', message: `no ${result.fileName} yet` } }) });
      }
      return true;
    }
    return send(res, result);
  }

  return {
    keys: opts.storeKeys,
    signInUrl: (base) => (oneTimeToken ? `${base}/?token=${oneTimeToken}` : `${base}/`),
    handle,
  };
}

function send(res: ServerResponse, result: UiResponse): true {
  res.writeHead(result.status, result.headers);
  res.end(result.body);
  return true;
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
    res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ error: { code: 'not_found', message: 'the source of this job is not stored (any more)' } }));
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

function appPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>voxpipe</title><link rel="stylesheet" href="/app.css"></head>
<body><div id="app"><p class="loading">Loading…</p></div><script type="module" src="/app.js"></script></body></html>
`;
}

function sendText(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' });
  res.end(body);
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

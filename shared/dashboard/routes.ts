/**
 * The dashboard's server routes, the same code in `voxpipe serve` (cli/dashboard.ts) and the API Lambda
 * (functions/api.ts): sign-in with an API key, sign-out, and `/ui/api/*`, which is the job API (shared/api)
 * called as the session's tenant instead of with an API key.
 *
 * - `GET /signin`: the sign-in form (locally it also points at the one-time link `voxpipe serve` printed).
 * - `POST /signin` (form `apiKey`, same-origin only): a session for that key's tenant, `303 /`.
 * - `POST /signout`: revokes the session, clears the cookie, `303 /signin`.
 * - `/ui/api/*`: 401 without a valid session; every method but GET/HEAD needs the CSRF header and a same-origin
 *   `Origin`. `/ui/api/session` answers `{ tenant, csrfToken }`; `/ui/api/jobs` the job views (what the list
 *   shows); `/ui/api/jobs/{id}/media` and `/download/{ext}` are served by the runtime (file with ranges locally,
 *   a redirect to a presigned S3 GET on AWS); everything else is the job API as it is.
 */
import type { ApiRequest, ApiResponse } from '../api/handler.js';
import { formatOf, isResultExt, RESULT_FORMATS, type ResultExt } from '../core/formats.js';
import { jobKeys } from '../core/keys.js';
import { hashApiKey } from '../api/api-keys.js';
import type { ApiKeyStore, ApiPrincipal } from '../api/ports.js';
import { csrfRefusal, type Session, type Sessions, sameOrigin } from './session.js';

/** What the routes answer: a response, or a stored object the runtime serves its own way. */
export interface UiResponse {
  readonly kind: 'response';
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}
export type UiResult =
  | UiResponse
  /** The job's stored source, played by the viewer (HTTP range requests). */
  | { readonly kind: 'media'; readonly jobId: string; readonly key: string }
  /** A result file, downloaded as `fileName`. */
  | { readonly kind: 'download'; readonly key: string; readonly fileName: string; readonly contentType: string };

export interface DashboardRoutesOptions {
  readonly sessions: Sessions;
  /** The API keys users have (the sign-in form checks them). */
  readonly keys: ApiKeyStore;
  /** The job API, called as a principal. */
  readonly api: (req: ApiRequest, as: ApiPrincipal) => Promise<ApiResponse>;
  /** The origins the app is served from (for the `Origin` check). */
  readonly origins: (headers: ApiRequest['headers']) => readonly string[];
  /** What the sign-in page says besides the API key form (locally: the one-time link). */
  readonly signInHint?: string;
  /** Content security policy of the pages. @default DASHBOARD_CSP */
  readonly csp?: string;
}

/** Content type of each downloadable result format (the output format registry, `core/formats.ts`). */
export const DOWNLOAD_TYPES: Readonly<Record<ResultExt, string>> = Object.fromEntries(RESULT_FORMATS.map((ext) => [ext, formatOf(ext).contentType])) as Record<ResultExt, string>;

/**
 * The content security policy of the app on AWS (the CloudFront response headers and the sign-in page): media
 * and uploads go to presigned S3 URLs (https), nothing else leaves the origin, no inline code.
 */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' https:; connect-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Security headers of the dashboard's HTML pages. */
export const PAGE_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  // Not `no-referrer`: with it, a form POST carries `Origin: null` and the sign-in's Origin check refuses it.
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
} as const;

export interface DashboardRoutes {
  /** The result of a dashboard route, or undefined when the path is not one (the job API's, static files). */
  handle(req: ApiRequest): Promise<UiResult | undefined>;
  /** The valid session of a request, or undefined. */
  session(req: ApiRequest): Promise<Session | undefined>;
  /** The sign-in page (with a message after a failed attempt). */
  signInPage(message?: string): string;
}

export function createDashboardRoutes(opts: DashboardRoutesOptions): DashboardRoutes {
  const { sessions } = opts;
  const page = (status: number, body: string) => html(status, body, opts.csp ? { 'content-security-policy': opts.csp } : {});

  function signInPage(message?: string): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · voxpipe</title><link rel="stylesheet" href="/app.css"></head>
<body><main class="signin">
<h1>voxpipe</h1>
<p>${opts.signInHint ? `${opts.signInHint} ` : ''}Sign in with an API key (<code>voxpipe api-keys create TENANT</code> makes one).</p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/signin">
<label for="apiKey">API key</label>
<input id="apiKey" name="apiKey" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>
</main></body></html>
`;
  }

  async function handle(req: ApiRequest): Promise<UiResult | undefined> {
    const method = req.method.toUpperCase();
    const path = req.path;
    if (path === '/signin' && (method === 'GET' || method === 'HEAD')) return page(200, signInPage());
    if (path === '/signin' && method === 'POST') {
      if (!sameOrigin(req.headers, opts.origins(req.headers))) return page(403, signInPage('Sign-in refused: the form was not sent from this page.'));
      const key = new URLSearchParams(req.body ?? '').get('apiKey')?.trim() ?? '';
      const keyHash = key ? hashApiKey(key) : undefined;
      const principal = keyHash ? await opts.keys.lookup(keyHash) : undefined;
      if (!principal || !keyHash) return page(401, signInPage('That API key is not valid.'));
      const { setCookie } = sessions.issue(principal.tenant, req.headers, keyHash);
      return redirect('/', { 'set-cookie': setCookie });
    }
    if (path === '/signout' && method === 'POST') {
      const current = await sessions.verify(req.headers);
      if (current && sameOrigin(req.headers, opts.origins(req.headers))) await sessions.revoke(current);
      return redirect('/signin', { 'set-cookie': sessions.clearCookie(req.headers) });
    }
    if (!path.startsWith('/ui/api/')) return undefined;

    const session = await sessions.verify(req.headers);
    if (!session) return json(401, { error: { code: 'unauthorized', message: 'not signed in (or the session ended): sign in again' } });
    if (method !== 'GET' && method !== 'HEAD') {
      const refused = csrfRefusal(req.headers, session, opts.origins(req.headers));
      if (refused) return json(403, { error: { code: 'forbidden', message: refused } });
    }
    const as: ApiPrincipal = { tenant: session.tenant };
    const sub = path.slice('/ui/api'.length);
    const call = (m: string, p: string, query: ApiRequest['query'] = {}, body?: string) => opts.api({ method: m, path: p, query, headers: {}, body }, as);

    if (sub === '/session') return json(200, { tenant: session.tenant, csrfToken: session.csrf, expiresAt: new Date(session.expires * 1000).toISOString() });
    const media = /^\/jobs\/([^/]+)\/media$/.exec(sub);
    if (media && (method === 'GET' || method === 'HEAD')) {
      const job = await call('GET', `/jobs/${media[1]}`);
      if (job.status !== 200) return json(job.status, job.body);
      const view = job.body as { jobId: string; source: { key: string } };
      return { kind: 'media', jobId: view.jobId, key: view.source.key };
    }
    const download = /^\/jobs\/([^/]+)\/download\/([a-z0-9]+)$/.exec(sub);
    if (download && method === 'GET' && isResultExt(download[2] ?? '')) {
      const [, jobId, ext] = download as unknown as [string, string, ResultExt];
      const job = await call('GET', `/jobs/${jobId}`);
      if (job.status !== 200) return json(job.status, job.body);
      const id = (job.body as { jobId: string }).jobId;
      return { kind: 'download', key: jobKeys(id).result(ext), fileName: `${id}.${ext}`, contentType: DOWNLOAD_TYPES[ext] };
    }
    if (sub === '/jobs' && method === 'GET') {
      // The list with what a person looks for at a glance: duration, cost, progress (one job view per job).
      const list = await call('GET', '/jobs', req.query);
      if (list.status !== 200) return json(list.status, list.body);
      const jobs = (list.body as { jobs: { jobId: string }[] }).jobs;
      const views = await Promise.all(jobs.map(async (j) => (await call('GET', `/jobs/${j.jobId}`)).body));
      return json(200, { jobs: views });
    }
    // Everything else is the job API as it is.
    const response = await call(method, sub, req.query, method === 'GET' || method === 'HEAD' ? undefined : req.body);
    return { kind: 'response', status: response.status, headers: { ...response.headers }, body: JSON.stringify(response.body) };
  }

  return { handle, session: (req) => sessions.verify(req.headers), signInPage };
}

export function html(status: number, body: string, headers: Record<string, string> = {}): UiResponse {
  return { kind: 'response', status, headers: { 'content-type': 'text/html; charset=utf-8', ...PAGE_HEADERS, ...headers }, body };
}

function json(status: number, body: unknown): UiResult {
  return { kind: 'response', status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(body) };
}

function redirect(location: string, headers: Record<string, string>): UiResult {
  return { kind: 'response', status: 303, headers: { location, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', ...headers }, body: '' };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

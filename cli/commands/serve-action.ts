/**
 * `voxpipe serve`: the job API (shared/api, the code the Lambda runs) on 127.0.0.1, over the local store
 * and the embedded pipeline. Uploads and result downloads go through HMAC-signed, expiring `/files/…` URLs
 * that stand in for S3 presigned URLs. `voxpipe api-keys create <tenant>` makes keys (stored hashed).
 *
 * The action of the command, loaded with `import()` when it runs; its definition (options, help) is ./serve.ts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join } from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { createFsStore } from '../../shared/adapters/fs-store.js';
import { createPinoLogger } from '../../shared/adapters/pino-logger.js';
import { createApiKey, createStoreApiKeys, TENANT_PATTERN } from '../../shared/api/api-keys.js';
import { contentTypeOfFile } from '../../shared/core/formats.js';
import { type ApiRequest, createApi } from '../../shared/api/handler.js';
import type { JobSubmitter, UrlSigner } from '../../shared/api/ports.js';
import { type ApiJobRecord, apiKeys, readJobRequest, uploadKeyJobId } from '../../shared/api/records.js';
import { type ConfigOverrides, loadConfig, type VoxpipeConfig } from '../../shared/config.js';
import { AlreadyExistsError, errorMessage, NotFoundError } from '../../shared/core/errors.js';
import { API_KEYS_PREFIX } from '../../shared/core/keys.js';
import type { BlobStore, Logger } from '../../shared/ports.js';
import { failJob } from '../../shared/stages/fail.js';
import { createDashboard, createLocalEditNotifier } from '../dashboard.js';
import { createLocalPipeline, type LocalPipelineDeps } from '../local-pipeline.js';

/** Largest JSON request body the API reads. */
const MAX_JSON_BODY = 1024 * 1024;

/** Options of `voxpipe serve`, as commander parses them. */
export interface ServeFlags {
  port: number;
  host: string;
  workDir?: string;
  provider?: string;
  model?: string;
  baseUrl?: string;
  verbose: boolean;
  dashboardTenant: string;
}

/** A running local API server. */
export interface ApiServer {
  /** `http://host:port`, the base of every route. */
  readonly url: string;
  /** The dashboard's one-time sign-in URL (`<url>/?token=…`). */
  readonly dashboardUrl: string;
  readonly store: BlobStore;
  /** Stop listening and wait for running jobs to end. */
  close(): Promise<void>;
}

export interface ApiServerOptions {
  readonly config: VoxpipeConfig;
  readonly logger: Logger;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 8787 */
  readonly port?: number;
  /** Pipeline overrides (tests): transcriber, audio tools. */
  readonly pipeline?: Partial<Pick<LocalPipelineDeps, 'transcriber' | 'audio' | 'chat'>>;
  /** Tenant of the dashboard's one-time sign-in link. @default 'local' */
  readonly dashboardTenant?: string;
}

/** Start the job API server. Exported for tests and embedding. */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { config, logger } = opts;
  const storeRoot = join(config.workDir, 'store');
  const store = createFsStore(storeRoot);
  const pipeline = createLocalPipeline({ config, logger, ...opts.pipeline });
  const secret = randomBytes(32);
  const running = new Set<Promise<void>>();
  let baseUrl = '';

  const signer: UrlSigner = {
    getUrl: async (key, ttl) => signedFileUrl(baseUrl, secret, 'GET', key, Date.now() + ttl * 1000),
    putUrl: async (key, ttl) => signedFileUrl(baseUrl, secret, 'PUT', key, Date.now() + ttl * 1000),
  };

  const submitter: JobSubmitter = {
    async start(record) {
      const run = runJob(record).finally(() => running.delete(run));
      running.add(run);
    },
  };

  /** One API job on the embedded pipeline, in the background; a crash ends the job as failed with the reason. */
  async function runJob(record: ApiJobRecord): Promise<void> {
    // The fs store keeps each key at <store>/<key>: the pipeline reads the source in place.
    const file = join(storeRoot, ...record.sourceKey.split('/'));
    const name = basename(record.sourceKey, extname(record.sourceKey)) || record.jobId;
    try {
      await pipeline.transcribeAs(record.jobId, file, name, record.options);
    } catch (err) {
      logger.error('api job crashed', { jobId: record.jobId, error: errorMessage(err) });
      await failJob({ jobId: record.jobId, source: record.sourceKey, reason: `${record.sourceKey}: ${errorMessage(err)}` }, { store, logger, notifier: { notify: async () => undefined } });
    }
  }

  const dashboard = createDashboard({
    tenant: opts.dashboardTenant ?? 'local',
    storeKeys: createStoreApiKeys(store),
    store,
    pathOf: (key) => join(storeRoot, ...key.split('/')),
    logger,
  });
  const notifier = createLocalEditNotifier(config, store, logger);
  const api = createApi({ store, keys: dashboard.keys, submitter, signer, logger, ...(notifier ? { notifier } : {}) });

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      logger.error('request failed', { url: withoutSignature(req.url ?? ''), error: errorMessage(err) });
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/files/')) return handleFile(req, res, url);
    if (await dashboard.handle(req, res, url, api)) return;
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req, MAX_JSON_BODY);
    if (body === null) return sendJson(res, 413, { error: { code: 'invalid_request', message: `body over ${MAX_JSON_BODY} bytes`, field: 'body' } });
    const request: ApiRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v])),
      body,
    };
    const response = await api(request);
    res.writeHead(response.status, response.headers);
    res.end(JSON.stringify(response.body));
  }

  /** Signed object access: GET a result, PUT an upload (which starts its job). */
  async function handleFile(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const key = url.pathname.slice('/files/'.length).split('/').map(decodeURIComponent).join('/');
    const method = req.method ?? 'GET';
    const expires = Number(url.searchParams.get('expires'));
    const sig = url.searchParams.get('sig') ?? '';
    if (!(method === 'GET' || method === 'PUT') || !verifySignature(secret, method, key, expires, sig) || Date.now() > expires) {
      return sendJson(res, 403, { error: { code: 'forbidden', message: 'invalid or expired signed URL' } });
    }
    if (method === 'GET') {
      try {
        const bytes = await store.get(key);
        res.writeHead(200, { 'content-type': contentTypeOf(key), 'content-length': String(bytes.byteLength) });
        res.end(bytes);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        sendJson(res, 404, { error: { code: 'not_found', message: `no object ${key}` } });
      }
      return;
    }
    const jobId = uploadKeyJobId(key);
    const request = jobId ? await readJobRequest(store, jobId) : undefined;
    if (!jobId || !request) return sendJson(res, 403, { error: { code: 'forbidden', message: 'not an upload URL' } });
    if (await store.exists(key)) return sendJson(res, 409, { error: { code: 'conflict', message: `job ${jobId} already has its upload` } });
    // One temp file per request (never shared: two PUTs to one URL must not splice), published with a
    // conditional put: the first complete upload claims the object, a concurrent one gets 409.
    const tmp = join(config.workDir, 'tmp', `upload-${jobId}-${randomBytes(8).toString('hex')}`);
    await mkdir(join(config.workDir, 'tmp'), { recursive: true, mode: 0o700 });
    try {
      await streamPipeline(req, createWriteStream(tmp, { mode: 0o600 }));
      await store.putFile(key, tmp, { ifNoneMatch: '*' });
    } catch (err) {
      if (err instanceof AlreadyExistsError) return sendJson(res, 409, { error: { code: 'conflict', message: `job ${jobId} already has its upload` } });
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
    const record = JSON.parse(new TextDecoder().decode(await store.get(apiKeys.tenantJob(request.tenant, jobId)))) as ApiJobRecord;
    await submitter.start(record);
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8787, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}`;

  return {
    url: baseUrl,
    dashboardUrl: dashboard.signInUrl(baseUrl),
    store,
    async close() {
      await closeServer(server);
      await Promise.allSettled([...running]);
    },
  };
}

/** A request URL fit for logs: a signed link's `sig` is replaced, so the log never holds a usable link. */
export function withoutSignature(url: string): string {
  return url.replace(/([?&]sig=)[^&#]*/g, '$1REDACTED');
}

function signedFileUrl(base: string, secret: Uint8Array, method: 'GET' | 'PUT', key: string, expires: number): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  return `${base}/files/${path}?expires=${expires}&sig=${signature(secret, method, key, expires)}`;
}

function signature(secret: Uint8Array, method: string, key: string, expires: number): string {
  return createHmac('sha256', secret).update(`${method}\n${key}\n${expires}`).digest('base64url');
}

function verifySignature(secret: Uint8Array, method: string, key: string, expires: number, sig: string): boolean {
  if (!Number.isFinite(expires)) return false;
  const expected = Buffer.from(signature(secret, method, key, expires));
  const given = Buffer.from(sig);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The body as text, or null when it is over `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Content type of a result file, from the output format registry (summaries: markdown). */
function contentTypeOf(key: string): string {
  return contentTypeOfFile(basename(key));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

async function hasAnyKey(store: BlobStore): Promise<boolean> {
  for await (const _ of store.list(API_KEYS_PREFIX)) return true;
  return false;
}

/** `voxpipe serve`: the job API and dashboard over the local store, until SIGINT/SIGTERM. */
export async function serveCommand(flags: ServeFlags): Promise<void> {
  const config = loadConfig(process.env, {
    VOXPIPE_WORK_DIR: flags.workDir,
    VOXPIPE_PROVIDER: flags.provider,
    VOXPIPE_MODEL: flags.model,
    VOXPIPE_BASE_URL: flags.baseUrl,
  } satisfies ConfigOverrides);
  const logger = createPinoLogger({ destination: join(config.workDir, 'voxpipe.log'), level: flags.verbose ? 'debug' : 'info' });
  const server = await startApiServer({ config, logger, host: flags.host, port: flags.port, dashboardTenant: flags.dashboardTenant });
  process.stdout.write(`voxpipe job API on ${server.url} (store: ${join(config.workDir, 'store')})\n`);
  process.stdout.write(`Dashboard: ${server.dashboardUrl}\n`);
  if (!(await hasAnyKey(server.store))) process.stdout.write('no API keys yet: create one with `voxpipe api-keys create <tenant>`\n');
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Flags of `voxpipe api-keys create`. */
export interface ApiKeysCreateFlags {
  name?: string;
  workDir?: string;
}

/** `voxpipe api-keys create <tenant>`: print a new API key of the tenant. */
export async function apiKeysCreateCommand(tenant: string, flags: ApiKeysCreateFlags): Promise<void> {
  if (!TENANT_PATTERN.test(tenant)) {
    process.stderr.write(`voxpipe: tenant "${tenant}": use 1–63 lowercase letters, digits, "-" and "_", starting with a letter or digit\n`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig(process.env, { VOXPIPE_WORK_DIR: flags.workDir });
  const key = await createApiKey(createFsStore(join(config.workDir, 'store')), tenant, flags.name);
  process.stdout.write(`${key}\n`);
}

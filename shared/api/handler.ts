/**
 * The job API over ports: routing, authentication, validation, handlers. The Lambda (functions/api.ts) and
 * `voxpipe serve` (cli/commands/serve.ts) translate their requests into `ApiRequest` and call the same code.
 *
 * Routes (api/openapi.yaml): `POST /jobs`, `GET /jobs`, `GET /jobs/{id}`, `POST /jobs/{id}/retry`,
 * `GET /jobs/{id}/transcript`, `POST /jobs/{id}/transcript/revisions` (corrections, see revisions.ts).
 * Every route needs an API key (`Authorization: Bearer <key>` or `x-api-key`); a job of another tenant
 * answers exactly like a job that does not exist (404).
 */
import { createHash, randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { checkWebhookUrl, type UrlPolicy } from '../adapters/ssrf-guard.js';
import { AlreadyExistsError, errorMessage, NotFoundError, PermanentError } from '../core/errors.js';
import { isSafeKeyUnder, unsafeKeyReason } from '../core/key-safety.js';
import { WEBHOOK_SECRET_PREFIX, type WebhookTarget, webhookTargetKey } from '../core/webhook-target.js';
import type { BlobStore, Logger, Notifier } from '../ports.js';
import { hashApiKey } from './api-keys.js';
import { jobSummary, jobView } from './job-view.js';
import type { ApiKeyStore, ApiPrincipal, JobSubmitter, UrlSigner } from './ports.js';
import { type ApiJobRecord, apiKeys, type JobRequest } from './records.js';
import { claimRetry, resetFailedJob } from './retry.js';
import { currentTranscript, EditError, RevisionConflictError, saveRevision, TranscriptEditBody } from './revisions.js';
import { CreateJobBody, firstIssue, JOB_ID_PATTERN, ListJobsQuery } from './schemas.js';

/** How long an `Idempotency-Key` answers its first job. */
const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** `tenants/<tenant>/idempotency/<sha256(key)>.json`: the first request made with a key. */
interface IdempotencyClaim {
  readonly requestHash: string;
  readonly jobId: string;
  readonly sourceKey: string;
  readonly sourceKind: ApiJobRecord['sourceKind'];
  readonly createdAt: string;
}

/** An HTTP request, as either runtime sees it. Header names are lowercase. */
export interface ApiRequest {
  readonly method: string;
  /** Path without the query string, e.g. `/jobs/3fa2…`. */
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
}

/** An HTTP response with a JSON body. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface ApiDeps {
  readonly store: BlobStore;
  readonly keys: ApiKeyStore;
  readonly submitter: JobSubmitter;
  readonly signer: UrlSigner;
  readonly logger: Logger;
  /** Milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
  /** @default 20 random hex characters */
  readonly newJobId?: () => string;
  /**
   * Key prefixes a tenant's `{ s3Key }` sources may be under. @default `tenants/<tenant>/inbox/` only: a tenant
   * never names another tenant's audio (or the shared `inbox/`, whose uploads belong to whoever can write the bucket).
   */
  readonly sourcePrefixes?: (tenant: string) => readonly string[];
  /**
   * The SSRF rules a job's webhook URL is checked against at submission (delivery checks again at every
   * connection). @default cloud mode: https only, no private, loopback, link-local or reserved address
   */
  readonly webhookPolicy?: UrlPolicy;
  /** Lifetime of presigned upload and result links. @default 3600 */
  readonly linkTtlSeconds?: number;
  /** Where `job.transcript.edited` goes (webhooks). @default none */
  readonly notifier?: Notifier;
}

/** Build the API once per container / server; the returned function handles one request. */
export function createApi(deps: ApiDeps): (req: ApiRequest, as?: ApiPrincipal) => Promise<ApiResponse> {
  const now = deps.now ?? Date.now;
  const newJobId = deps.newJobId ?? (() => randomBytes(10).toString('hex'));
  const sourcePrefixes = deps.sourcePrefixes ?? ((tenant: string) => [apiKeys.tenantSourcesPrefix(tenant)]);
  const linkTtlSeconds = deps.linkTtlSeconds ?? 3600;

  async function createJob(principal: ApiPrincipal, req: ApiRequest): Promise<ApiResponse> {
    const body = parseJsonBody(req.body);
    if ('error' in body) return body.error;
    const parsed = CreateJobBody.safeParse(body.value);
    if (!parsed.success) return invalid(firstIssue(parsed.error));
    const { source, options, webhook } = parsed.data;

    if (webhook) {
      const refused = await refusedWebhook(webhook.url, deps.webhookPolicy ?? { mode: 'cloud' });
      if (refused) return invalid({ field: 'webhook.url', message: refused });
    }
    const jobId = newJobId();
    let sourceKey: string;
    if (source.s3Key !== undefined) {
      const reason = unsafeKeyReason(source.s3Key);
      if (reason) return invalid({ field: 'source.s3Key', message: `the key ${reason}` });
      // "Not yours" and "not there" answer alike, so the API is no oracle for other tenants' keys.
      const prefixes = sourcePrefixes(principal.tenant);
      const allowed = prefixes.some((p) => isSafeKeyUnder(source.s3Key ?? '', p));
      if (!allowed || !(await deps.store.exists(source.s3Key))) {
        return invalid({ field: 'source.s3Key', message: `no such object among your sources (keys under ${prefixes.map((p) => `"${p}"`).join(' or ')})` });
      }
      sourceKey = source.s3Key;
    } else {
      sourceKey = apiKeys.upload(jobId, source.fileName ?? 'source');
    }
    const record: ApiJobRecord = {
      jobId,
      tenant: principal.tenant,
      createdAt: new Date(now()).toISOString(),
      sourceKey,
      sourceKind: source.s3Key !== undefined ? 's3Key' : 'upload',
      options,
      ...(webhook ? { webhook } : {}),
    };
    // Idempotency-Key: the first request with a key claims it (conditional write); a repeat with the same body
    // answers that job again, one with another body is a conflict.
    const idempotencyKey = req.headers['idempotency-key'];
    if (idempotencyKey !== undefined) {
      if (!/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(idempotencyKey)) return invalid({ field: 'Idempotency-Key', message: '1–255 printable ASCII characters' });
      const claimKey = apiKeys.idempotency(principal.tenant, createHash('sha256').update(idempotencyKey).digest('hex'));
      const claim: IdempotencyClaim = { requestHash: createHash('sha256').update(JSON.stringify(parsed.data)).digest('hex'), jobId, sourceKey, sourceKind: record.sourceKind, createdAt: record.createdAt };
      try {
        await deps.store.put(claimKey, JSON.stringify(claim), { ifNoneMatch: '*', contentType: 'application/json' });
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
        const first = JSON.parse(new TextDecoder().decode(await deps.store.get(claimKey))) as IdempotencyClaim;
        const fresh = now() - Date.parse(first.createdAt) < IDEMPOTENCY_TTL_MS;
        if (fresh && first.requestHash !== claim.requestHash) {
          return error(409, 'conflict', 'Idempotency-Key was already used with a different request body');
        }
        if (fresh) return accepted(first.jobId, first.sourceKind, first.sourceKey, { 'idempotent-replayed': 'true' });
        await deps.store.put(claimKey, JSON.stringify(claim), { contentType: 'application/json' });
      }
    }
    const request: JobRequest = { jobId, tenant: principal.tenant, options, ...(webhook ? { webhook } : {}) };
    // The request first: the splitter reads it, and an upload can arrive as soon as the URL is out.
    await writeJsonObject(deps.store, apiKeys.request(jobId), request);
    // Where the job's signed webhooks go (read by the webhook delivery), signed with the tenant's own secret:
    // with one stack-wide secret, any tenant could forge another tenant's events.
    if (webhook) {
      const target: WebhookTarget = { url: webhook.url, secretName: tenantWebhookSecretName(principal.tenant) };
      await writeJsonObject(deps.store, webhookTargetKey(jobId), target);
    }
    await writeJsonObject(deps.store, apiKeys.tenantJob(principal.tenant, jobId), record);
    await deps.store.put(apiKeys.tenantIndexEntry(principal.tenant, record.createdAt, jobId), '');
    deps.logger.info('job submitted', { jobId, tenant: principal.tenant, source: sourceKey });
    if (record.sourceKind === 's3Key') await deps.submitter.start(record);
    return accepted(jobId, record.sourceKind, sourceKey);
  }

  /** The 202 of a created (or, for an idempotent repeat, earlier) job. */
  async function accepted(jobId: string, kind: ApiJobRecord['sourceKind'], sourceKey: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    if (kind === 's3Key') return json(202, { jobId, state: 'queued' }, { location: `/jobs/${jobId}`, ...headers });
    const uploadUrl = await deps.signer.putUrl(sourceKey, linkTtlSeconds);
    return json(
      202,
      { jobId, state: 'awaiting_upload', uploadUrl, uploadExpiresAt: new Date(now() + linkTtlSeconds * 1000).toISOString() },
      { location: `/jobs/${jobId}`, ...headers },
    );
  }

  async function listJobs(principal: ApiPrincipal, req: ApiRequest): Promise<ApiResponse> {
    const parsed = ListJobsQuery.safeParse(definedOnly(req.query));
    if (!parsed.success) return invalid(firstIssue(parsed.error));
    const { status, limit, cursor } = parsed.data;
    const { tenant } = principal;
    await ensureIndex(tenant);
    // Newest first from the index: records are read only for the page (plus those a status filter skips).
    const prefix = apiKeys.tenantIndexPrefix(tenant);
    const jobs = [];
    let nextCursor: string | undefined;
    for await (const key of deps.store.list(prefix)) {
      const entry = key.slice(prefix.length);
      if (cursor && entry <= cursor) continue;
      if (jobs.length === limit) {
        nextCursor = jobs.at(-1)?.cursor;
        break;
      }
      const record = await readRecord(apiKeys.tenantJob(tenant, entry.slice(14)));
      if (!record) continue;
      const summary = await jobSummary(deps.store, record);
      if (!status || summary.state === status) jobs.push({ summary, cursor: entry });
    }
    return json(200, { jobs: jobs.map((j) => j.summary), ...(nextCursor ? { nextCursor } : {}) });
  }

  /** Index every record of a tenant once (records made before the index existed), then mark it done. */
  async function ensureIndex(tenant: string): Promise<void> {
    if (await deps.store.exists(apiKeys.tenantIndexMarker(tenant))) return;
    for await (const key of deps.store.list(apiKeys.tenantJobsPrefix(tenant))) {
      const record = await readRecord(key);
      if (record) await deps.store.put(apiKeys.tenantIndexEntry(tenant, record.createdAt, record.jobId), '');
    }
    await deps.store.put(apiKeys.tenantIndexMarker(tenant), '');
  }

  async function getJob(principal: ApiPrincipal, jobId: string): Promise<ApiResponse> {
    const record = await ownJob(principal, jobId);
    if (!record) return unknownJob(jobId);
    return json(200, await jobView(deps.store, deps.signer, record, { now: now(), linkTtlSeconds }));
  }

  async function retryJob(principal: ApiPrincipal, jobId: string): Promise<ApiResponse> {
    const record = await ownJob(principal, jobId);
    if (!record) return unknownJob(jobId);
    // One retry per failure (a conditional claim of the next attempt); concurrent ones get 409 naming it.
    const decision = await claimRetry(deps.store, record, now());
    if (decision.kind === 'conflict') return error(409, 'conflict', decision.message, {}, { state: decision.state, attempt: decision.attempt });
    const { attempt } = decision;
    // The request again, from the record: `jobs/` expires (retentionDays), so a late retry keeps its options and
    // webhook; `attempt` gives this attempt's terminal event an id of its own.
    const request: JobRequest = { jobId, tenant: principal.tenant, options: record.options, ...(record.webhook ? { webhook: record.webhook } : {}), attempt };
    await writeJsonObject(deps.store, apiKeys.request(jobId), request);
    if (record.webhook) {
      const target: WebhookTarget = { url: record.webhook.url, secretName: tenantWebhookSecretName(principal.tenant) };
      await writeJsonObject(deps.store, webhookTargetKey(jobId), target);
    }
    const retried: ApiJobRecord = { ...record, retries: decision.retries };
    await writeJsonObject(deps.store, apiKeys.tenantJob(principal.tenant, jobId), retried);
    await resetFailedJob(deps.store, jobId);
    await deps.submitter.start(retried);
    deps.logger.info('job retried', { jobId, tenant: principal.tenant, attempt });
    return json(202, { jobId, state: 'queued', attempt }, { location: `/jobs/${jobId}` });
  }

  /** `GET /jobs/{id}/transcript`: the current revision of the result JSON. */
  async function getTranscript(principal: ApiPrincipal, jobId: string): Promise<ApiResponse> {
    const record = await ownJob(principal, jobId);
    if (!record) return unknownJob(jobId);
    const transcript = await currentTranscript(deps.store, jobId);
    if (!transcript) return error(404, 'not_found', `job ${jobId} has no transcript yet`);
    return json(200, transcript);
  }

  /** `POST /jobs/{id}/transcript/revisions`: save a correction as a new revision, re-render, send `job.transcript.edited`. */
  async function editTranscript(principal: ApiPrincipal, jobId: string, req: ApiRequest): Promise<ApiResponse> {
    const record = await ownJob(principal, jobId);
    if (!record) return unknownJob(jobId);
    const body = parseJsonBody(req.body);
    if ('error' in body) return body.error;
    const parsed = TranscriptEditBody.safeParse(body.value);
    if (!parsed.success) return invalid(firstIssue(parsed.error));
    try {
      const saved = await saveRevision(deps.store, jobId, parsed.data, { now: new Date(now()), editor: principal.tenant });
      const revision = saved.transcript.revision?.number ?? 0;
      deps.logger.info('transcript edited', { jobId, tenant: principal.tenant, revision });
      await deps.notifier?.notify({ type: 'job.transcript.edited', jobId, source: record.sourceKey, revision, resultKeys: saved.resultKeys });
      return json(201, saved.transcript, { location: `/jobs/${jobId}/transcript` });
    } catch (err) {
      if (err instanceof NotFoundError) return error(404, 'not_found', `job ${jobId} has no transcript yet`);
      if (err instanceof RevisionConflictError) return error(409, 'conflict', err.message);
      if (err instanceof EditError) return invalid({ field: err.field, message: err.message });
      throw err;
    }
  }

  async function ownJob(principal: ApiPrincipal, jobId: string): Promise<ApiJobRecord | undefined> {
    if (!JOB_ID_PATTERN.test(jobId)) return undefined;
    return readRecord(apiKeys.tenantJob(principal.tenant, jobId));
  }

  async function readRecord(key: string): Promise<ApiJobRecord | undefined> {
    try {
      return JSON.parse(new TextDecoder().decode(await deps.store.get(key))) as ApiJobRecord;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async function authenticate(req: ApiRequest): Promise<ApiPrincipal | ApiResponse> {
    const bearer = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const key = bearer ?? req.headers['x-api-key']?.trim();
    if (!key) return unauthorized('missing API key: send "Authorization: Bearer <key>"');
    const principal = await deps.keys.lookup(hashApiKey(key));
    return principal ?? unauthorized('invalid API key');
  }

  /** `as`: the principal of a caller already authenticated another way (a dashboard session); else the API key. */
  return async function handle(req: ApiRequest, as?: ApiPrincipal): Promise<ApiResponse> {
    const route = matchRoute(req.method.toUpperCase(), req.path);
    if (route.kind === 'none') return error(404, 'not_found', `no route ${req.method} ${req.path}`);
    if (route.kind === 'malformed') return invalid({ field: 'path', message: 'malformed percent-encoding' });
    if (route.kind === 'method') return error(405, 'method_not_allowed', `${req.method} is not allowed on ${req.path}`, { allow: route.allow });
    try {
      const principal = as ?? (await authenticate(req));
      if ('status' in principal) return principal;
      switch (route.name) {
        case 'create':
          return await createJob(principal, req);
        case 'list':
          return await listJobs(principal, req);
        case 'get':
          return await getJob(principal, route.jobId);
        case 'retry':
          return await retryJob(principal, route.jobId);
        case 'transcript':
          return await getTranscript(principal, route.jobId);
        case 'edit':
          return await editTranscript(principal, route.jobId, req);
      }
    } catch (err) {
      deps.logger.error('api request failed', { method: req.method, path: req.path, error: errorMessage(err) });
      return error(500, 'internal', 'internal error; retry later (the request id is in the server log)');
    }
  };
}

type Route =
  | { kind: 'route'; name: 'create' | 'list' }
  | { kind: 'route'; name: 'get' | 'retry' | 'transcript' | 'edit'; jobId: string }
  | { kind: 'method'; allow: string }
  | { kind: 'malformed' }
  | { kind: 'none' };

function matchRoute(method: string, path: string): Route {
  const parts = path.replace(/\/+$/, '').split('/').filter(Boolean);
  if (parts[0] !== 'jobs') return { kind: 'none' };
  if (parts.length === 1) {
    if (method === 'POST') return { kind: 'route', name: 'create' };
    if (method === 'GET') return { kind: 'route', name: 'list' };
    return { kind: 'method', allow: 'GET, POST' };
  }
  let jobId: string;
  try {
    jobId = decodeURIComponent(parts[1] ?? '');
  } catch {
    return { kind: 'malformed' };
  }
  if (parts.length === 2) return method === 'GET' ? { kind: 'route', name: 'get', jobId } : { kind: 'method', allow: 'GET' };
  if (parts.length === 3 && parts[2] === 'retry') return method === 'POST' ? { kind: 'route', name: 'retry', jobId } : { kind: 'method', allow: 'POST' };
  if (parts.length === 3 && parts[2] === 'transcript') return method === 'GET' ? { kind: 'route', name: 'transcript', jobId } : { kind: 'method', allow: 'GET' };
  if (parts.length === 4 && parts[2] === 'transcript' && parts[3] === 'revisions') {
    return method === 'POST' ? { kind: 'route', name: 'edit', jobId } : { kind: 'method', allow: 'POST' };
  }
  return { kind: 'none' };
}

/** Why a webhook URL is refused at submission, or undefined. A name that does not resolve now is accepted (delivery checks again). */
async function refusedWebhook(url: string, policy: UrlPolicy): Promise<string | undefined> {
  const resolve = policy.resolve ?? ((host: string) => lookupWithin(host, 2000));
  try {
    await checkWebhookUrl(url, { ...policy, resolve });
    return undefined;
  } catch (err) {
    return err instanceof PermanentError ? err.message : undefined;
  }
}

function lookupWithin(host: string, ms: number) {
  return Promise.race([
    dnsLookup(host, { all: true, verbatim: true }),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`DNS lookup of ${host} timed out`)), ms).unref()),
  ]);
}

/**
 * The Secrets Manager secret that signs a tenant's webhooks on AWS: `voxpipe/webhooks/tenants/<tenant>`, made
 * by the operator with the tenant's API key (a delivery whose secret is missing fails; it never falls back
 * to the deployment's shared secret).
 */
export function tenantWebhookSecretName(tenant: string): string {
  return `${WEBHOOK_SECRET_PREFIX}tenants/${tenant}`;
}

function parseJsonBody(body: string | undefined): { value: unknown } | { error: ApiResponse } {
  if (!body?.trim()) return { error: invalid({ field: 'body', message: 'a JSON object is required' }) };
  try {
    return { value: JSON.parse(body) };
  } catch {
    return { error: invalid({ field: 'body', message: 'not valid JSON' }) };
  }
}

function definedOnly(query: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined));
}

function writeJsonObject(store: BlobStore, key: string, value: unknown): Promise<void> {
  return store.put(key, `${JSON.stringify(value, null, 2)}\n`, { contentType: 'application/json' });
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body,
});

function error(status: number, code: string, message: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): ApiResponse {
  return json(status, { error: { code, message, ...extra } }, headers);
}

const invalid = (issue: { field: string; message: string }) =>
  error(400, 'invalid_request', `${issue.field}: ${issue.message}`, {}, { field: issue.field });

const unauthorized = (message: string) => error(401, 'unauthorized', message, { 'www-authenticate': 'Bearer realm="voxpipe"' });

const unknownJob = (jobId: string) => error(404, 'not_found', `no job ${jobId}`);

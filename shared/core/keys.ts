/**
 * The store's layout: every key and prefix of the bucket (on AWS) and of `<work-dir>/store/` (locally), and the
 * drop folder's layout. One place, so every runtime reads and writes the same keys, and infra's IAM grants,
 * lifecycle rules and notification filters name the same prefixes (test/unit/keys-one-place.test.ts keeps
 * every other module from spelling one). The strings are stored data and IAM policy: never change one.
 *
 * ```
 * jobs/<jobId>/manifest.json          written once by the splitter (cut plan, options, probe)
 * jobs/<jobId>/status.json            lifecycle, overwritten as the job moves on
 * jobs/<jobId>/audio/<chunk>.flac     chunk audio (expires by lifecycle rule on AWS)
 * jobs/<jobId>/chunks/<chunk>.json    one result per chunk; its presence means "chunk done"
 * jobs/<jobId>/aggregate.claim        conditional-write token: exactly one aggregation per job
 * jobs/<jobId>/source.claim           the first upload or drop of the job (conditional write): dedup
 * jobs/<jobId>/source.sha256          locally: the content hash a fingerprint job id was made from
 * jobs/<jobId>/waiting/<digest>.json  a drop with the same content that waits for this job to end
 * jobs/<jobId>/request.json           the job API's options, webhook and attempt for the pipeline
 * jobs/<jobId>/drop.json              what the end of a drop-folder job needs (profile, path, results)
 * jobs/<jobId>/webhook.json           where the job's webhooks go (a WebhookTarget)
 * jobs/<jobId>/webhooks/<id>/…        AWS webhook bookkeeping: delivered.json, attempt-<g>-<nn>.claim
 * jobs/<jobId>/enrichment.json        AWS: the enricher sent the job's final event
 * running/<jobId>                     present while the job is not finished: the sweeper lists only these
 * results/<jobId>/transcript.<ext>    json, txt, srt, vtt (…): the output format registry
 * results/<jobId>/transcript.<lang>.<ext>, summary.md, extract.json   enrichments
 * results/<jobId>/revisions/<n>.json  edited transcripts (the dashboard's revisions)
 * webhooks/dead-letter/<jobId>/<webhookId>.json   webhook events that were given up on
 * api-keys/<sha256(key)>.json         the job API's keys → tenant
 * tenants/<tenant>/…                  the job API's records (apiKeys below)
 * uploads/<jobId>/<fileName>          the job API's uploads
 * dashboard-sessions/revoked/<id>     a dashboard sign-out (expires after a day on AWS)
 * inbox/<profile>/<path>              drop folder (dropKeys below); processed/…, failed/… after the job;
 *                                     results/<profile>/<dir>/<name>.<suffix> its result copies
 * ```
 * `<chunk>` is `<index>-<startMs>-<endMs>`: a result is only ever matched with the chunk it was made for,
 * even when a job is re-split with another plan (another chunk length, a planner change).
 */
import type { ResultExt } from './formats.js';

/** Intermediate state of every job (expires: `retentionDays`). */
export const JOBS_PREFIX = 'jobs/';
/** Index of unfinished jobs: one empty object per job, so finding stuck jobs costs O(running jobs). */
export const RUNNING_PREFIX = 'running/';
/** Final results: `results/<jobId>/…` of every job, and drop-folder copies `results/<profile>/…`. */
export const RESULTS_PREFIX = 'results/';
/** Webhook dead letters (and nothing else today). */
export const WEBHOOKS_PREFIX = 'webhooks/';
/** Webhook events given up on: `<jobId>/<webhookId>.json` below. */
export const WEBHOOK_DEAD_LETTER_PREFIX = `${WEBHOOKS_PREFIX}dead-letter/`;
/** The job API's keys, stored as `sha256(key)` → tenant. */
export const API_KEYS_PREFIX = 'api-keys/';
/** The job API's per-tenant records (kept when `jobs/` and `results/` expire). */
export const TENANTS_PREFIX = 'tenants/';
/** The job API's uploads (`{ upload: true }`): the bucket notifies the splitter of new objects here. */
export const UPLOADS_PREFIX = 'uploads/';
/** Dashboard sign-outs (with `-c dashboard=true` on AWS; `voxpipe serve` locally). */
export const DASHBOARD_SESSIONS_PREFIX = 'dashboard-sessions/';
/** The drop folder on S3: `inbox/<profile>/<path>`; the bucket notifies the splitter of new objects here. */
export const INBOX_PREFIX = 'inbox/';
/** Where a drop's source goes when its job completed (or was a duplicate). */
export const PROCESSED_PREFIX = 'processed/';
/** Where a drop's source goes when its job failed. */
export const FAILED_PREFIX = 'failed/';

/** An IAM resource pattern / glob for every object under `prefix` (`jobs/` → `jobs/*`). */
export const everyObjectUnder = (prefix: string): string => `${prefix}*`;

const pad = (index: number) => String(index).padStart(5, '0');

/** What identifies a chunk in storage: its index and its span, so a result never outlives its plan. */
export interface ChunkRef {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** `00007-840000-962512`: index, then start and end in milliseconds. */
const chunkName = (c: ChunkRef) => `${pad(c.index)}-${Math.round(c.start * 1000)}-${Math.round(c.end * 1000)}`;

/** Keys of one job. `jobKeys('*')` gives IAM patterns (`jobs/*\/chunks/`). */
export function jobKeys(jobId: string) {
  const root = `${JOBS_PREFIX}${jobId}/`;
  const resultsPrefix = `${RESULTS_PREFIX}${jobId}/`;
  return {
    root,
    manifest: `${root}manifest.json`,
    status: `${root}status.json`,
    claim: `${root}aggregate.claim`,
    /** Written once, conditionally, by the first upload or drop of the job (the splitter's dedup). */
    sourceClaim: `${root}source.claim`,
    /** Locally: SHA-256 of the whole source, so a fingerprint job id is reused only for the content that made it. */
    sourceHash: `${root}source.sha256`,
    /** A drop with the same content (`digest`: a short hash of its source) waiting for this job to end. */
    waiting: (digest: string) => `${root}waiting/${digest}.json`,
    /** The job API's request for the pipeline (options, webhook, attempt). */
    request: `${root}request.json`,
    /** A drop-folder job: what its end needs (profile, path, results to copy). */
    drop: `${root}drop.json`,
    /** Where the job's webhooks go (`WebhookTarget`). */
    webhookTarget: `${root}webhook.json`,
    /** AWS: written by the enricher once the job's final event went out. */
    enrichmentRecord: `${root}enrichment.json`,
    /** AWS webhook bookkeeping of one event: `delivered` on a 2xx; `attempt` claims one attempt by one queue message. */
    webhook: (webhookId: string) => ({
      delivered: `${root}webhooks/${webhookId}/delivered.json`,
      attempt: (generation: number, n: number) => `${root}webhooks/${webhookId}/attempt-${generation}-${String(n).padStart(2, '0')}.claim`,
    }),
    running: `${RUNNING_PREFIX}${jobId}`,
    audioPrefix: `${root}audio/`,
    chunksPrefix: `${root}chunks/`,
    chunkAudio: (chunk: ChunkRef) => `${root}audio/${chunkName(chunk)}.flac`,
    chunkResult: (chunk: ChunkRef) => `${root}chunks/${chunkName(chunk)}.json`,
    resultsPrefix,
    result: (ext: ResultExt) => `${resultsPrefix}transcript.${ext}`,
    /** Enrichment results, next to the transcript. */
    translation: (language: string, ext: ResultExt) => `${resultsPrefix}transcript.${language}.${ext}`,
    summary: `${resultsPrefix}summary.md`,
    extraction: `${resultsPrefix}extract.json`,
    /** Revision `n` of an edited transcript. */
    revision: (n: number) => `${resultsPrefix}revisions/${String(n).padStart(5, '0')}.json`,
    /** Webhook events of this job that were given up on. */
    deadLettersPrefix: `${WEBHOOK_DEAD_LETTER_PREFIX}${jobId}/`,
    deadLetter: (webhookId: string) => `${WEBHOOK_DEAD_LETTER_PREFIX}${jobId}/${webhookId}.json`,
  };
}

/** Result file extensions written by the aggregator: the output format registry's (`formats.ts`). */
export type { ResultExt } from './formats.js';

/** The chunk a `jobs/<id>/chunks/<index>-<startMs>-<endMs>.json` key names, or undefined for other keys. */
export function chunkRefOf(key: string): ChunkRef | undefined {
  const m = /\/chunks\/(\d+)-(\d+)-(\d+)\.json$/.exec(key);
  return m ? { index: Number(m[1]), start: Number(m[2]) / 1000, end: Number(m[3]) / 1000 } : undefined;
}

/** True when two refs name the same chunk (spans compared at storage resolution, 1 ms). */
export function sameChunk(a: ChunkRef, b: ChunkRef): boolean {
  return chunkName(a) === chunkName(b);
}

/** The revocation marker of a dashboard session (sign-out). */
export const revokedSessionKey = (sessionId: string): string => `${DASHBOARD_SESSIONS_PREFIX}revoked/${sessionId}`;

/** True for a job's status key (`jobs/<id>/status.json`), e.g. while listing `JOBS_PREFIX`. */
export function isJobStatusKey(key: string): boolean {
  return /^jobs\/[^/]+\/status\.json$/.test(key);
}

/**
 * Keys of the job API's objects:
 * ```
 * api-keys/<sha256(key)>.json            { tenant, name?, createdAt }: the key itself is never stored
 * tenants/<tenant>/inbox/<path>         the tenant's own audio: the only keys its `{ s3Key }` sources may name
 * tenants/<tenant>/jobs/<jobId>.json     the API's job record (source, options, webhook): "is this my job" is one GET
 * tenants/<tenant>/index/<rev-ts>-<id>   empty: newest-first index, so `GET /jobs?limit=N` reads O(N) records
 * tenants/<tenant>/index.v1              present once every record of the tenant has an index entry
 * tenants/<tenant>/idempotency/<h>.json  the first `POST /jobs` made with an `Idempotency-Key` (hashed)
 * tenants/<tenant>/retries/<jobId>/<n>   the claim (conditional write) that started attempt n: one retry per failure
 * jobs/<jobId>/request.json              the options the pipeline applies to this job (read by the splitter) and its
 *                                        attempt; rewritten from the record by every retry (`jobs/` expires)
 * uploads/<jobId>/<fileName>             the uploaded source of an `{ upload: true }` job
 * ```
 * `tenantSourcesPrefix('*')` is the IAM pattern of every tenant's inbox.
 */
export const apiKeys = {
  apiKey: (keyHash: string) => `${API_KEYS_PREFIX}${keyHash}.json`,
  tenantJobsPrefix: (tenant: string) => `${TENANTS_PREFIX}${tenant}/jobs/`,
  tenantSourcesPrefix: (tenant: string) => `${TENANTS_PREFIX}${tenant}/inbox/`,
  /** Newest-first index of a tenant's jobs: `<13-digit (9999999999999 - createdAt ms)>-<jobId>`, sorted by key. */
  tenantIndexPrefix: (tenant: string) => `${TENANTS_PREFIX}${tenant}/index/`,
  tenantIndexEntry: (tenant: string, createdAt: string, jobId: string) =>
    `${TENANTS_PREFIX}${tenant}/index/${String(9_999_999_999_999 - Date.parse(createdAt)).padStart(13, '0')}-${jobId}`,
  /** Present once every record of the tenant has an index entry (written by the first listing after an upgrade). */
  tenantIndexMarker: (tenant: string) => `${TENANTS_PREFIX}${tenant}/index.v1`,
  /** The first `POST /jobs` made with an `Idempotency-Key` (hashed). */
  idempotency: (tenant: string, keyHash: string) => `${TENANTS_PREFIX}${tenant}/idempotency/${keyHash}.json`,
  tenantJob: (tenant: string, jobId: string) => `${TENANTS_PREFIX}${tenant}/jobs/${jobId}.json`,
  /** Claims of a job's retries, one per attempt (`0002.json` started attempt 2). */
  retryClaimsPrefix: (tenant: string, jobId: string) => `${TENANTS_PREFIX}${tenant}/retries/${jobId}/`,
  retryClaim: (tenant: string, jobId: string, attempt: number) => `${TENANTS_PREFIX}${tenant}/retries/${jobId}/${String(attempt).padStart(4, '0')}.json`,
  request: (jobId: string) => jobKeys(jobId).request,
  uploadsPrefix: UPLOADS_PREFIX,
  upload: (jobId: string, fileName: string) => `${UPLOADS_PREFIX}${jobId}/${fileName}`,
} as const;

/** The job id of an API upload key (`uploads/<jobId>/<file>`), or undefined for any other key. */
export function uploadKeyJobId(key: string): string | undefined {
  return /^uploads\/([a-z0-9][a-z0-9-]{7,63})\/[^/]+$/.exec(key)?.[1];
}

/*
 * The drop folder. One layout for both runtimes; only the roots differ:
 *
 * <inbox><profile>/<path>                     the drop (S3: inbox/…; locally: the watched directory)
 * processed/<profile>/<path>                  the source after its job completed (or was a duplicate)
 * failed/<profile>/<path>                     the source after its job failed
 * <status>/<profile>/<path>.reason.json       beside it: what happened (status, reason, job id, results)
 * <results><profile>/<dir>/<name>.<suffix>    result files (S3: results/…; locally: the --out directory)
 *
 * `<path>` keeps every folder of the drop, spaces, `+` and unicode as they are; keys are never URL-encoded.
 */

/** A dropped file: its profile and its path below the profile folder. */
export interface DropRef {
  readonly profile: string;
  /** Path below `<profile>/`, `/`-separated, e.g. `2026/q1/board call.mp3`. */
  readonly path: string;
}

/** Roots of the layout: `{ inbox: 'inbox/', results: 'results/' }` on S3, `{ inbox: '', results: '' }` locally. */
export interface DropRoots {
  readonly inbox: string;
  readonly results: string;
}

export const S3_DROP_ROOTS: DropRoots = { inbox: INBOX_PREFIX, results: RESULTS_PREFIX };
export const LOCAL_DROP_ROOTS: DropRoots = { inbox: '', results: '' };

/** Where a finished drop goes. */
export type DropOutcome = 'processed' | 'failed';

/** The folder of each outcome (the same on S3 and in the watched directory). */
export const DROP_OUTCOME_PREFIX: Readonly<Record<DropOutcome, string>> = { processed: PROCESSED_PREFIX, failed: FAILED_PREFIX };

/** Suffix of a sidecar with per-file overrides (`talk.mp3.voxpipe.json`). */
export const SIDECAR_SUFFIX = '.voxpipe.json';
/** Suffix of the reason object beside a moved source (`talk.mp3.reason.json`). */
export const REASON_SUFFIX = '.reason.json';

/** The prefixes of one profile on S3 (`inbox/<profile>/`, `results/<profile>/`, …): for copies, lifecycle rules. */
export function dropProfilePrefixes(profile: string) {
  return {
    inbox: `${INBOX_PREFIX}${profile}/`,
    results: `${RESULTS_PREFIX}${profile}/`,
    processed: `${PROCESSED_PREFIX}${profile}/`,
    failed: `${FAILED_PREFIX}${profile}/`,
  };
}

/**
 * The drop a key (or a `/`-separated path relative to the watched directory) names, or undefined when it
 * is not one: no profile folder, a folder marker, a sidecar, or a file under `processed/` / `failed/`.
 */
export function parseDropKey(key: string, roots: DropRoots = S3_DROP_ROOTS): DropRef | undefined {
  if (!key.startsWith(roots.inbox) || key.endsWith('/') || key.endsWith(SIDECAR_SUFFIX)) return undefined;
  const rest = key.slice(roots.inbox.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const profile = rest.slice(0, slash);
  const path = rest.slice(slash + 1);
  if (Object.keys(DROP_OUTCOME_PREFIX).includes(profile) || profile === '.' || profile === '..' || !path || path.split('/').some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return { profile, path };
}

/** Every key of one drop's layout. */
export function dropKeys(ref: DropRef, roots: DropRoots = S3_DROP_ROOTS) {
  const slash = ref.path.lastIndexOf('/');
  const dir = slash >= 0 ? ref.path.slice(0, slash + 1) : '';
  const file = ref.path.slice(slash + 1);
  const dot = file.lastIndexOf('.');
  const name = dot > 0 ? file.slice(0, dot) : file;
  const moved = (outcome: DropOutcome) => `${DROP_OUTCOME_PREFIX[outcome]}${ref.profile}/${ref.path}`;
  return {
    source: `${roots.inbox}${ref.profile}/${ref.path}`,
    sidecar: `${roots.inbox}${ref.profile}/${ref.path}${SIDECAR_SUFFIX}`,
    /** Base name of result files: the file name without its extension. */
    name,
    moved,
    reason: (outcome: DropOutcome) => `${moved(outcome)}${REASON_SUFFIX}`,
    /** A result file: `json`, `srt`, `fr.srt`, `summary.md`, … */
    result: (suffix: string) => `${roots.results}${ref.profile}/${dir}${name}.${suffix}`,
  };
}

/**
 * What the job API stores, and where. Plain data plus key helpers; read and written through the BlobStore.
 *
 * ```
 * api-keys/<sha256(key)>.json            { tenant, name?, createdAt }: the key itself is never stored
 * tenants/<tenant>/inbox/<path>         the tenant's own audio: the only keys its `{ s3Key }` sources may name
 * tenants/<tenant>/jobs/<jobId>.json     the API's job record (source, options, webhook): "is this my job" is one GET
 * tenants/<tenant>/index/<rev-ts>-<id>   empty: newest-first index, so `GET /jobs?limit=N` reads O(N) records
 * tenants/<tenant>/retries/<jobId>/<n>   the claim (conditional write) that started attempt n: one retry per failure
 * jobs/<jobId>/request.json              the options the pipeline applies to this job (read by the splitter) and its
 *                                        attempt; rewritten from the record by every retry (`jobs/` expires)
 * uploads/<jobId>/<fileName>             the uploaded source of an `{ upload: true }` job
 * ```
 */
import type { JobOptions } from '../core/types.js';
import type { BlobStore } from '../ports.js';
import { NotFoundError } from '../core/errors.js';
import { jobRequestKey } from '../stages/attempt.js';

/** Per-job options a client may choose. Provider and model are the deployment's (AWS) or the server's (local). */
export type RequestedOptions = Partial<Pick<JobOptions, 'language' | 'chunkSeconds' | 'words' | 'diarize' | 'timestamps' | 'vocabulary'>>;

/** The API's record of one job, at `tenants/<tenant>/jobs/<jobId>.json`. */
export interface ApiJobRecord {
  readonly jobId: string;
  readonly tenant: string;
  readonly createdAt: string;
  /** Where the source audio is (or will be, for uploads) in the store. */
  readonly sourceKey: string;
  /** How the source arrives. */
  readonly sourceKind: 's3Key' | 'upload';
  readonly options: RequestedOptions;
  readonly webhook?: { readonly url: string };
  /** When each `POST /jobs/{id}/retry` that restarted the job claimed its attempt (attempt 2 first). */
  readonly retries?: readonly string[];
}

/** What the pipeline reads for a job the API started: `jobs/<jobId>/request.json`. */
export interface JobRequest {
  readonly jobId: string;
  readonly tenant: string;
  readonly options: RequestedOptions;
  readonly webhook?: { readonly url: string };
  /** 1 + the retries that restarted the job (absent: 1). Stamped on its terminal events (shared/stages/attempt.ts). */
  readonly attempt?: number;
}

/** Keys of the API's objects. */
export const apiKeys = {
  apiKey: (keyHash: string) => `api-keys/${keyHash}.json`,
  tenantJobsPrefix: (tenant: string) => `tenants/${tenant}/jobs/`,
  tenantSourcesPrefix: (tenant: string) => `tenants/${tenant}/inbox/`,
  /** Newest-first index of a tenant's jobs: `<13-digit (9999999999999 - createdAt ms)>-<jobId>`, sorted by key. */
  tenantIndexPrefix: (tenant: string) => `tenants/${tenant}/index/`,
  tenantIndexEntry: (tenant: string, createdAt: string, jobId: string) =>
    `tenants/${tenant}/index/${String(9_999_999_999_999 - Date.parse(createdAt)).padStart(13, '0')}-${jobId}`,
  /** Present once every record of the tenant has an index entry (written by the first listing after an upgrade). */
  tenantIndexMarker: (tenant: string) => `tenants/${tenant}/index.v1`,
  /** The first `POST /jobs` made with an `Idempotency-Key` (hashed). */
  idempotency: (tenant: string, keyHash: string) => `tenants/${tenant}/idempotency/${keyHash}.json`,
  tenantJob: (tenant: string, jobId: string) => `tenants/${tenant}/jobs/${jobId}.json`,
  /** Claims of a job's retries, one per attempt (`0002.json` started attempt 2). */
  retryClaimsPrefix: (tenant: string, jobId: string) => `tenants/${tenant}/retries/${jobId}/`,
  retryClaim: (tenant: string, jobId: string, attempt: number) => `tenants/${tenant}/retries/${jobId}/${String(attempt).padStart(4, '0')}.json`,
  request: jobRequestKey,
  uploadsPrefix: 'uploads/',
  upload: (jobId: string, fileName: string) => `uploads/${jobId}/${fileName}`,
} as const;

/** The job id of an API upload key (`uploads/<jobId>/<file>`), or undefined for any other key. */
export function uploadKeyJobId(key: string): string | undefined {
  return /^uploads\/([a-z0-9][a-z0-9-]{7,63})\/[^/]+$/.exec(key)?.[1];
}

/** The options a job was submitted with through the API, or undefined for jobs the API did not start. */
export async function readJobRequest(store: BlobStore, jobId: string): Promise<JobRequest | undefined> {
  try {
    return JSON.parse(new TextDecoder().decode(await store.get(apiKeys.request(jobId)))) as JobRequest;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** `base` with the client's choices applied (undefined fields keep the base value). */
export function withRequestedOptions(base: JobOptions, requested: RequestedOptions | undefined): JobOptions {
  if (!requested) return base;
  const chosen = Object.fromEntries(Object.entries(requested).filter(([, v]) => v !== undefined));
  return { ...base, ...chosen };
}

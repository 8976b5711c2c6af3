/**
 * What the job API stores: plain data, read and written through the BlobStore. Where it lives
 * (`api-keys/`, `tenants/<tenant>/…`, `uploads/`, `jobs/<jobId>/request.json`) is `apiKeys` in `core/keys.ts`.
 */
import type { JobOptions } from '../core/types.js';
import type { BlobStore } from '../ports.js';
import { NotFoundError } from '../core/errors.js';
import { apiKeys } from '../core/keys.js';

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

/** Keys of the API's objects (the store's layout: `core/keys.ts`). */
export { apiKeys, uploadKeyJobId } from '../core/keys.js';

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

import { AlreadyExistsError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import type { ChunkResult } from '../core/types.js';
import type { BlobStore } from '../ports.js';
import { jobState } from './job-view.js';
import { type ApiJobRecord, apiKeys } from './records.js';
import type { ApiJobState } from './schemas.js';

/**
 * Make a failed job runnable again under the same id, keeping what succeeded: failed chunk results, the
 * aggregation claim, the source claim, the status and the failed result objects are removed. Started again,
 * the split stage resumes from the manifest (only chunks without a result are sent to the model) or, when
 * the split itself failed, splits the source afresh.
 */
export async function resetFailedJob(store: BlobStore, jobId: string): Promise<void> {
  const keys = jobKeys(jobId);
  for await (const key of store.list(keys.chunksPrefix)) {
    const result = JSON.parse(new TextDecoder().decode(await store.get(key))) as ChunkResult;
    if (result.status === 'failed') await store.delete(key);
  }
  for await (const key of store.list(keys.resultsPrefix)) await store.delete(key);
  await store.delete(keys.claim);
  // The splitter's dedup claim (functions/lib/source-claim.ts): without removing it a restart is dropped as a duplicate.
  await store.delete(keys.sourceClaim);
  await store.delete(keys.status);
}

/** A retry claim older than this whose job has not been restarted was left by a retrier that died: take over. */
export const RETRY_CLAIM_STALE_MS = 120_000;

/** `tenants/<tenant>/retries/<jobId>/<nnnn>.json`: who may start attempt n. */
export interface RetryClaim {
  readonly attempt: number;
  readonly claimedAt: string;
  /** The attempt whose failure this retry restarts. */
  readonly retryOf: number;
}

/** What a `POST /jobs/{id}/retry` may do. */
export type RetryDecision =
  | { readonly kind: 'claimed'; readonly attempt: number; readonly retries: readonly string[] }
  | { readonly kind: 'conflict'; readonly state: ApiJobState | 'retrying'; readonly attempt: number; readonly message: string };

/**
 * Decide a retry: of concurrent retries of one failure exactly one claims the next attempt (a conditional write,
 * `If-None-Match: *` on S3, `link(2)` locally); the others, and retries of a job that is not failed, get a
 * conflict naming the attempt that runs. The claimant then rewrites the request, resets and restarts the job.
 * Attempts are numbered from the claims (not from the job record), so the count stays right whatever the
 * concurrency; a claim whose job was never restarted (its retrier died) is taken over after `RETRY_CLAIM_STALE_MS`.
 */
export async function claimRetry(store: BlobStore, record: ApiJobRecord, now: number): Promise<RetryDecision> {
  const claims: RetryClaim[] = [];
  for await (const key of store.list(apiKeys.retryClaimsPrefix(record.tenant, record.jobId))) {
    if (key.endsWith('.json')) claims.push(JSON.parse(new TextDecoder().decode(await store.get(key))) as RetryClaim);
  }
  claims.sort((a, b) => a.attempt - b.attempt);
  const latest = claims.at(-1);
  const current = latest?.attempt ?? 1;
  const { state, status } = await jobState(store, record);
  if (state !== 'failed') {
    return { kind: 'conflict', state, attempt: current, message: `job ${record.jobId} is ${state} (attempt ${current}); only failed jobs can be retried` };
  }
  const failedAttempt = status?.attempt ?? 1;
  if (latest && latest.attempt > failedAttempt && now - Date.parse(latest.claimedAt) < RETRY_CLAIM_STALE_MS) {
    return { kind: 'conflict', state: 'retrying', attempt: latest.attempt, message: `job ${record.jobId} is already being retried (attempt ${latest.attempt})` };
  }
  const attempt = Math.max(current, failedAttempt) + 1;
  const claim: RetryClaim = { attempt, claimedAt: new Date(now).toISOString(), retryOf: failedAttempt };
  try {
    await store.put(apiKeys.retryClaim(record.tenant, record.jobId, attempt), JSON.stringify(claim), { ifNoneMatch: '*', contentType: 'application/json' });
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    return { kind: 'conflict', state: 'retrying', attempt, message: `job ${record.jobId} is already being retried (attempt ${attempt})` };
  }
  return { kind: 'claimed', attempt, retries: [...claims, claim].map((c) => c.claimedAt) };
}

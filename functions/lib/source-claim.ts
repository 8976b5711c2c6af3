import { AlreadyExistsError } from '../../shared/core/errors.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { JobStatus } from '../../shared/core/types.js';
import type { BlobStore } from '../../shared/ports.js';
import { readJsonIfExists } from '../../shared/stages/store-json.js';

/** `jobs/<jobId>/source.claim`: written once, conditionally, by the first splitter to see an upload. */
export const sourceClaimKey = (jobId: string) => `${jobKeys(jobId).root}source.claim`;

/** What the splitter should do with an upload notification. */
export type ClaimDecision = 'split' | 'duplicate' | 'in-progress' | 'take-over';

/**
 * Dedup of at-least-once S3 notifications. The first notification of an object wins the conditional
 * write of `source.claim` and splits. A later one for the same job:
 * - `duplicate` when the job got past splitting (status transcribing, aggregating, completed, failed);
 * - `in-progress` while the claim is younger than the splitter's timeout (the winner may still be running;
 *   if it dies, its own message comes back after the visibility timeout and takes over);
 * - `take-over` once the claim is older than the splitter's timeout and the job is still splitting:
 *   the winner died (timeout, crash). The split stage resumes idempotently.
 */
export async function claimSource(
  store: BlobStore,
  jobId: string,
  source: string,
  opts: { readonly now: number; readonly splitTimeoutMs: number },
): Promise<ClaimDecision> {
  const key = sourceClaimKey(jobId);
  try {
    await store.put(key, JSON.stringify({ source, claimedAt: new Date(opts.now).toISOString() }), {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
    return 'split';
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  const status = await readJsonIfExists<JobStatus>(store, jobKeys(jobId).status);
  if (status && status.state !== 'splitting') return 'duplicate';
  const claim = await readJsonIfExists<{ claimedAt: string }>(store, key);
  const claimedAt = claim ? Date.parse(claim.claimedAt) : 0;
  if (opts.now - claimedAt < opts.splitTimeoutMs) return 'in-progress';
  await store.put(key, JSON.stringify({ source, claimedAt: new Date(opts.now).toISOString(), takeOver: true }), { contentType: 'application/json' });
  return 'take-over';
}

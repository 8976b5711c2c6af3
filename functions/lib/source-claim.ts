import { AlreadyExistsError } from '../../shared/core/errors.js';
import { jobKeys } from '../../shared/core/keys.js';
import type { JobStatus } from '../../shared/core/types.js';
import type { BlobStore, Notifier } from '../../shared/ports.js';
import { finishIfComplete } from '../../shared/stages/fan-in.js';
import { flushOutbox, isTerminal, type StoredStatus } from '../../shared/stages/outbox.js';
import { sourceClaimKey } from '../../shared/stages/admit-drop.js';
import { SPLIT_OWNER } from '../../shared/stages/split.js';
import { readJsonIfExists } from '../../shared/stages/store-json.js';

/** `jobs/<jobId>/source.claim`: written once, conditionally, by the first splitter to see an upload (one key for uploads and drops). */
export { sourceClaimKey };

/** What the splitter should do with an upload notification. */
export type ClaimDecision = 'split' | 'duplicate' | 'in-progress' | 'take-over';

/**
 * Dedup of at-least-once S3 notifications. The first notification of an object wins the conditional
 * write of `source.claim` and splits. A later one for the same job:
 * - `duplicate` when the job got past splitting (status transcribing, aggregating, completed, failed);
 * - `in-progress` while the claim is younger than the splitter's timeout (the winner may still be running;
 *   if it dies, its own message comes back after the visibility timeout and takes over);
 * - `take-over` once the claim is older than the splitter's timeout and the job is still splitting:
 *   the winner died (timeout, crash). The split stage resumes idempotently. At once when the claim names
 *   this very message (`owner`, the SQS message id): its own redelivery after a crash.
 */
export async function claimSource(
  store: BlobStore,
  jobId: string,
  source: string,
  opts: { readonly now: number; readonly splitTimeoutMs: number; readonly owner?: string },
): Promise<ClaimDecision> {
  const key = sourceClaimKey(jobId);
  const owner = opts.owner ? { owner: opts.owner } : {};
  try {
    await store.put(key, JSON.stringify({ source, claimedAt: new Date(opts.now).toISOString(), ...owner }), {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
    return 'split';
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
  }
  const status = await readJsonIfExists<JobStatus>(store, jobKeys(jobId).status);
  if (status && status.state !== 'splitting') return 'duplicate';
  const claim = await readJsonIfExists<{ claimedAt: string; owner?: string }>(store, key);
  const claimedAt = claim ? Date.parse(claim.claimedAt) : 0;
  const ownRedelivery = opts.owner !== undefined && claim?.owner === opts.owner;
  if (!ownRedelivery && opts.now - claimedAt < opts.splitTimeoutMs) return 'in-progress';
  await store.put(key, JSON.stringify({ source, claimedAt: new Date(opts.now).toISOString(), takeOver: true, ...owner }), { contentType: 'application/json' });
  return 'take-over';
}

/**
 * A notification of a job that got past splitting (`duplicate`) may be the redelivery of a splitter that died
 * after it: finish what that run left. A finished job with an outbox gets its event out; a job whose every
 * chunk finished before the manifest existed (or that had nothing to transcribe) gets its fan-in hand-off.
 * Both are idempotent, so a true duplicate costs two reads.
 */
export async function finishAfterSplit(
  store: BlobStore,
  jobId: string,
  deps: { readonly notifier: Notifier; readonly onJobReady: (jobId: string) => Promise<void>; readonly after?: (jobId: string) => Promise<void> },
): Promise<void> {
  const status = await readJsonIfExists<StoredStatus>(store, jobKeys(jobId).status);
  if (isTerminal(status)) await flushOutbox(jobId, { store, notifier: deps.notifier, after: deps.after }, status);
  else if (status?.state === 'transcribing') await finishIfComplete(jobId, { store, onJobReady: deps.onJobReady, owner: SPLIT_OWNER });
}

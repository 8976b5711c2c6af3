import { jobKeys } from '../core/keys.js';
import type { ChunkResult } from '../core/types.js';
import type { BlobStore } from '../ports.js';

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
  await store.delete(`${keys.root}source.claim`);
  await store.delete(keys.status);
}

import { AlreadyExistsError } from '../core/errors.js';
import { chunkRefOf, jobKeys, sameChunk } from '../core/keys.js';
import type { JobManifest } from '../core/types.js';
import type { BlobStore, Notifier } from '../ports.js';
import { readJsonIfExists, writeJson } from './store-json.js';

/**
 * Fan-in: trigger aggregation exactly once, when the last chunk result lands.
 *
 * Why this is exactly-once, with redelivered messages and concurrent finishers:
 * - Every finisher writes its own result *before* calling this, and the store's list is
 *   read-after-write consistent (S3 is, since 2020; the fs store trivially). So whichever finisher
 *   lists last sees every result: at least one caller observes "complete". Nobody observes
 *   "complete" early, because completeness is derived from what is stored, not from a counter
 *   that a retry could double.
 * - Every caller that observes "complete" races for `aggregate.claim` with a conditional write
 *   (`If-None-Match: *`). The store lets exactly one win; the others stop. So at most one calls
 *   `onJobReady`.
 * - If the winner's hand-off fails, it deletes the claim and throws, so the redelivered chunk
 *   message (whose result already exists) comes back here and tries again: no job is stuck.
 * A re-run of the whole job (resume) deletes the claim first, on purpose.
 */
export async function finishIfComplete(
  jobId: string,
  deps: {
    readonly store: BlobStore;
    readonly onJobReady: (jobId: string) => Promise<void>;
    /** When given, a `job.progress` event is sent with the counts seen. */
    readonly notifier?: Notifier;
  },
): Promise<boolean> {
  const keys = jobKeys(jobId);
  // No manifest yet: the splitter is still sending chunks. It checks completion itself once it has
  // written the manifest, so a chunk that finishes this early cannot be the one that is lost.
  const manifest = await readJsonIfExists<JobManifest>(deps.store, keys.manifest);
  if (!manifest) return false;
  const done = await finishedChunks(deps.store, manifest);
  const chunksDone = manifest.pending.filter((index) => done.has(index)).length;
  await deps.notifier?.notify({ type: 'job.progress', jobId, chunksDone, chunksTotal: manifest.pending.length });
  if (chunksDone < manifest.pending.length) return false;
  try {
    await writeJson(deps.store, keys.claim, { claimedAt: new Date().toISOString() }, { ifNoneMatch: '*' });
  } catch (err) {
    if (err instanceof AlreadyExistsError) return false;
    throw err;
  }
  try {
    await deps.onJobReady(jobId);
  } catch (err) {
    await deps.store.delete(keys.claim);
    throw err;
  }
  return true;
}

/** Indexes of the manifest's chunks that have a stored result made for exactly that chunk (index and span). */
export async function finishedChunks(store: BlobStore, manifest: JobManifest): Promise<Set<number>> {
  const done = new Set<number>();
  for await (const key of store.list(jobKeys(manifest.jobId).chunksPrefix)) {
    const ref = chunkRefOf(key);
    const planned = ref && manifest.plan.chunks[ref.index];
    if (ref && planned && sameChunk(ref, planned)) done.add(ref.index);
  }
  return done;
}

import { AlreadyExistsError } from '../core/errors.js';
import { chunkRefOf, jobKeys, sameChunk } from '../core/keys.js';
import type { JobManifest } from '../core/types.js';
import type { BlobStore, Notifier } from '../ports.js';
import { readJsonIfExists, writeJson } from './store-json.js';
import { isoTime, type StageClock } from './wall-clock.js';

/** `jobs/<id>/aggregate.claim`: who won the fan-in, and whether its hand-off went out (an outbox of one message). */
export interface AggregateClaim {
  readonly claimedAt: string;
  /** What won it (`chunk 7`, `split`): a redelivery of the same work finishes a pending hand-off. */
  readonly owner?: string;
  /** `pending` from the claim until the hand-off was sent; claims written before this field count as sent. */
  readonly handoff?: 'pending' | 'sent';
  readonly handedOffAt?: string;
}

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
 * - The claim is an outbox of one message: it is written `handoff: pending` with its `owner` (the work that
 *   won it: `chunk 7`, `split`), and marked `sent` once `onJobReady` returned. If the winner dies in between
 *   (a timeout, a killed environment), the redelivery of the same work finds its own pending claim and
 *   sends the hand-off again, so no job is left `transcribing` with every result stored. If the hand-off
 *   throws, the claim is also deleted, so any finisher may try again. A crash after the send and before the
 *   mark sends the hand-off twice; the aggregator drops a hand-off for a finished job.
 * A re-run of the whole job (resume) deletes the claim first, on purpose.
 */
export async function finishIfComplete(
  jobId: string,
  deps: {
    readonly store: BlobStore;
    readonly onJobReady: (jobId: string) => Promise<void>;
    /** When given, a `job.progress` event is sent with the counts seen. */
    readonly notifier?: Notifier;
    /** What the caller is working on (`chunk 7`, `split`): lets its redelivery finish a hand-off it claimed. */
    readonly owner?: string;
    /** Time of the claim and the hand-off. @default the wall clock */
    readonly clock?: StageClock;
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
  let claim: AggregateClaim = { claimedAt: isoTime(deps.clock), ...(deps.owner ? { owner: deps.owner } : {}), handoff: 'pending' };
  try {
    await writeJson(deps.store, keys.claim, claim, { ifNoneMatch: '*' });
  } catch (err) {
    if (!(err instanceof AlreadyExistsError)) throw err;
    // Someone holds the claim. Only a pending hand-off of our own (we died before sending it) is ours to finish.
    const held = await readJsonIfExists<AggregateClaim>(deps.store, keys.claim);
    if (!deps.owner || held?.handoff !== 'pending' || held.owner !== deps.owner) return false;
    claim = held;
  }
  try {
    await deps.onJobReady(jobId);
  } catch (err) {
    await deps.store.delete(keys.claim);
    throw err;
  }
  await writeJson(deps.store, keys.claim, { ...claim, handoff: 'sent', handedOffAt: isoTime(deps.clock) });
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

import { NotFoundError } from '../core/errors.js';
import { jobKeys } from '../core/keys.js';
import type { JobStatus } from '../core/types.js';
import type { BlobStore, JobEvent, PutOptions } from '../ports.js';
import { isoTime, type StageClock } from './wall-clock.js';

/** Read and parse a JSON object. Throws `NotFoundError` for a missing key. */
export async function readJson<T>(store: BlobStore, key: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await store.get(key))) as T;
}

/** Like `readJson`, but undefined for a missing key. */
export async function readJsonIfExists<T>(store: BlobStore, key: string): Promise<T | undefined> {
  try {
    return await readJson<T>(store, key);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/** Write a value as pretty JSON. */
export function writeJson(store: BlobStore, key: string, value: unknown, opts?: PutOptions): Promise<void> {
  return store.put(key, `${JSON.stringify(value, null, 2)}\n`, { contentType: 'application/json', ...opts });
}

/**
 * Overwrite `jobs/<id>/status.json` (`updatedAt` is set here) and keep the `running/<id>` index in step:
 * present while the job is unfinished or its end is in flight (an `outbox`, see `outbox.ts`), removed when
 * it completed or failed and its events are out.
 */
export async function writeStatus(
  store: BlobStore,
  status: Omit<JobStatus, 'updatedAt'> & { readonly outbox?: readonly JobEvent[] },
  clock?: StageClock,
): Promise<void> {
  const keys = jobKeys(status.jobId);
  await writeJson(store, keys.status, { ...status, updatedAt: isoTime(clock) });
  if ((status.state === 'completed' || status.state === 'failed') && status.outbox === undefined) await store.delete(keys.running);
  else await store.put(keys.running, '');
}

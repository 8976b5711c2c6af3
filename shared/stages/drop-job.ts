import { NotFoundError } from '../core/errors.js';
import { jobKeys, type ResultExt } from '../core/keys.js';
import { truncationWarnings } from '../core/truncation.js';
import { type DropRef, S3_DROP_ROOTS } from '../core/profile-paths.js';
import type { Transcript } from '../core/types.js';
import type { BlobStore, DropArea, Logger } from '../ports.js';
import { enrichmentFiles } from './enrich.js';
import { finalizeSource } from './finalize-source.js';
import { readJson, writeJson } from './store-json.js';

/** Stored at `jobs/<jobId>/drop.json` by the splitter of a drop-folder job: what the end of the job needs. */
export interface DropRecord {
  readonly drop: DropRef;
  readonly formats: readonly ResultExt[];
  readonly retentionDays?: number;
  /** The profile's webhook (URL + secret reference), for the notifier. */
  readonly webhook?: { readonly url: string; readonly secretRef: string };
}

/** Key of a job's drop record. */
export const dropRecordKey = (jobId: string): string => jobKeys(jobId).drop;

/** Mark a job as a drop-folder job (before it is split, so every way it can end finds the record). */
export function writeDropRecord(store: BlobStore, jobId: string, record: DropRecord): Promise<void> {
  return writeJson(store, dropRecordKey(jobId), record);
}

/**
 * The end of a drop-folder job on the bucket: publish its results under `results/<profile>/<path>/…` and move
 * the source to `processed/` or `failed/` with its reason. Reads the job's drop record and result JSON (both
 * the aggregator and `failJob` write one). Returns false for a job that did not come from the drop folder.
 * Idempotent, so it can run again on a redelivered hand-off.
 */
export async function finalizeDropJob(
  jobId: string,
  deps: { readonly store: BlobStore; readonly drop: DropArea; readonly logger: Logger },
): Promise<boolean> {
  const record = await readJson<DropRecord>(deps.store, dropRecordKey(jobId)).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (!record) return false;
  const keys = jobKeys(jobId);
  const transcript = await readJson<Transcript>(deps.store, keys.result('json'));
  const results: [string, string][] = [];
  for (const ext of record.formats) if (await deps.store.exists(keys.result(ext))) results.push([keys.result(ext), ext]);
  results.push(...enrichmentFiles(transcript, record.formats));
  await finalizeSource(
    {
      drop: record.drop,
      roots: S3_DROP_ROOTS,
      status: transcript.status,
      reason: transcript.error,
      jobId,
      results,
      retentionDays: record.retentionDays,
      warnings: truncationWarnings(transcript.warnings),
    },
    deps,
  );
  return true;
}

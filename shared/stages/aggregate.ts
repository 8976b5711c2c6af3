import { assembleTranscript } from '../core/assemble.js';
import { formatOf, RESULT_FORMATS, renderFormat, type ResultExt } from '../core/formats.js';
import { jobKeys } from '../core/keys.js';
import type { ChunkResult, JobManifest, Transcript } from '../core/types.js';
import type { BlobStore, Logger, Notifier } from '../ports.js';
import { endJob, type JobEndDeps } from './outbox.js';
import { readJson, writeStatus } from './store-json.js';

export interface AggregateDeps {
  readonly store: BlobStore;
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** Runs once the job's event is out (the drop folder's publish-and-move); idempotent. */
  readonly after?: JobEndDeps['after'];
  /** Time of the status. @default the wall clock */
  readonly clock?: JobEndDeps['clock'];
}

/** What the aggregator wrote. */
export interface AggregateOutput {
  readonly transcript: Transcript;
  /** Result object key per format. */
  readonly resultKeys: Readonly<Record<ResultExt, string>>;
}

/**
 * Aggregator stage: stitch chunk results in order into one transcript with times from the start of
 * the file, render every output format (`core/formats.ts`) under `results/<jobId>/`, set the status and send the event.
 * Safe to run twice (same keys, same bodies), though fan-in makes sure it normally runs once. A crash after
 * the status is finished by `flushOutbox` on redelivery (see `outbox.ts`).
 */
export async function aggregateJob(jobId: string, deps: AggregateDeps): Promise<AggregateOutput> {
  const keys = jobKeys(jobId);
  const manifest = await readJson<JobManifest>(deps.store, keys.manifest);
  await writeStatus(deps.store, { jobId, source: manifest.source, state: 'aggregating' }, deps.clock);
  const results = await Promise.all(
    manifest.pending.flatMap((index) => {
      const chunk = manifest.plan.chunks[index];
      return chunk ? [readJson<ChunkResult>(deps.store, keys.chunkResult(chunk))] : [];
    }),
  );
  const transcript = assembleTranscript(manifest, results);

  // Every format of the registry (`core/formats.ts`), in its order: the transcript document first.
  const resultKeys = Object.fromEntries(RESULT_FORMATS.map((ext) => [ext, keys.result(ext)])) as Record<ResultExt, string>;
  const input = { transcript, segments: transcript.segments, words: transcript.words };
  for (const ext of RESULT_FORMATS) {
    await deps.store.put(resultKeys[ext], renderFormat(ext, input), { contentType: formatOf(ext).contentType });
  }

  const failed = transcript.status === 'failed';
  const all = Object.values(resultKeys);
  deps.logger.info('job aggregated', { jobId, status: transcript.status, segments: transcript.segments.length });
  // Status and event through the outbox: a crash after the status still gets the event out on redelivery.
  await endJob(
    {
      jobId,
      source: manifest.source,
      state: failed ? 'failed' : 'completed',
      reason: transcript.error,
      chunksTotal: manifest.pending.length,
      chunksDone: results.length,
    },
    [
      failed
        ? { type: 'job.failed', jobId, source: manifest.source, reason: transcript.error ?? 'failed', resultKeys: all }
        : { type: 'job.completed', jobId, source: manifest.source, resultKeys: all },
    ],
    deps,
  );
  return { transcript, resultKeys };
}

import { assembleTranscript } from '../core/assemble.js';
import { jobKeys, type ResultExt } from '../core/keys.js';
import { renderSrt, renderTxt, renderVtt } from '../core/render.js';
import type { ChunkResult, JobManifest, Transcript } from '../core/types.js';
import type { BlobStore, Logger, Notifier } from '../ports.js';
import { endJob, type JobEndDeps } from './outbox.js';
import { readJson, writeJson, writeStatus } from './store-json.js';

export interface AggregateDeps {
  readonly store: BlobStore;
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** Runs once the job's event is out (the drop folder's publish-and-move); idempotent. */
  readonly after?: JobEndDeps['after'];
}

/** What the aggregator wrote. */
export interface AggregateOutput {
  readonly transcript: Transcript;
  /** Result object key per format. */
  readonly resultKeys: Readonly<Record<ResultExt, string>>;
}

/**
 * Aggregator stage: stitch chunk results in order into one transcript with times from the start of
 * the file, render JSON/TXT/SRT/VTT under `results/<jobId>/`, set the status and send the event.
 * Safe to run twice (same keys, same bodies), though fan-in makes sure it normally runs once. A crash after
 * the status is finished by `flushOutbox` on redelivery (see `outbox.ts`).
 */
export async function aggregateJob(jobId: string, deps: AggregateDeps): Promise<AggregateOutput> {
  const keys = jobKeys(jobId);
  const manifest = await readJson<JobManifest>(deps.store, keys.manifest);
  await writeStatus(deps.store, { jobId, source: manifest.source, state: 'aggregating' });
  const results = await Promise.all(
    manifest.pending.flatMap((index) => {
      const chunk = manifest.plan.chunks[index];
      return chunk ? [readJson<ChunkResult>(deps.store, keys.chunkResult(chunk))] : [];
    }),
  );
  const transcript = assembleTranscript(manifest, results);

  const resultKeys = { json: keys.result('json'), txt: keys.result('txt'), srt: keys.result('srt'), vtt: keys.result('vtt') };
  await writeJson(deps.store, resultKeys.json, transcript);
  await deps.store.put(resultKeys.txt, renderTxt(transcript.segments), { contentType: 'text/plain; charset=utf-8' });
  await deps.store.put(resultKeys.srt, renderSrt(transcript.segments, transcript.words), { contentType: 'application/x-subrip' });
  await deps.store.put(resultKeys.vtt, renderVtt(transcript.segments, transcript.words), { contentType: 'text/vtt' });

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

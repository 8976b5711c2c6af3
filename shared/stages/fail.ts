import { jobKeys } from '../core/keys.js';
import type { JobOptions, Transcript } from '../core/types.js';
import type { BlobStore, Logger, Notifier } from '../ports.js';
import { type JobEndDeps, endJob } from './outbox.js';
import { writeJson } from './store-json.js';

/** What is known about a job that ends before it has chunk results. */
export interface FailedJob {
  readonly jobId: string;
  readonly source: string;
  readonly reason: string;
  readonly options?: JobOptions;
}

/**
 * End a job as failed with a reason the user can act on: result object, status and `job.failed` event
 * (status and event through the outbox, `outbox.ts`; `after` runs once the event is out).
 * Used for input the splitter rejects and by the sweeper for jobs past their deadline. A chunk that
 * fails (or dead-letters) is recorded as a failed chunk result instead, and the aggregator fails the job.
 */
export async function failJob(
  job: FailedJob,
  deps: { readonly store: BlobStore; readonly notifier: Notifier; readonly logger: Logger; readonly after?: JobEndDeps['after'] },
): Promise<Transcript> {
  const keys = jobKeys(job.jobId);
  const transcript: Transcript = {
    id: job.jobId,
    source: job.source,
    status: 'failed',
    error: job.reason,
    durationSeconds: 0,
    language: null,
    text: '',
    segments: [],
    chunks: [],
    model: job.options?.model ?? '',
    usage: { audioSeconds: 0 },
    timestamps: 'cut-plan',
    warnings: [],
  };
  await writeJson(deps.store, keys.result('json'), transcript);
  deps.logger.error('job failed', { jobId: job.jobId, source: job.source, reason: job.reason });
  // Status, event and `after` through the outbox: a crash after the status still gets the event out.
  await endJob(
    { jobId: job.jobId, source: job.source, state: 'failed', reason: job.reason },
    [{ type: 'job.failed', jobId: job.jobId, source: job.source, reason: job.reason, resultKeys: [keys.result('json')] }],
    deps,
  );
  return transcript;
}

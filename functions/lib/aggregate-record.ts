/**
 * What the aggregator does with one `{ jobId }` hand-off, with its AWS clients injected (the handler builds
 * them from the environment; crash tests wrap them). See `functions/aggregator.ts`.
 */
import { jobKeys } from '../../shared/core/keys.js';
import type { Transcript } from '../../shared/core/types.js';
import type { BlobStore, Logger, Notifier } from '../../shared/ports.js';
import { aggregateJob } from '../../shared/stages/aggregate.js';
import { flushOutbox, isTerminal, type StoredStatus } from '../../shared/stages/outbox.js';
import { readJsonIfExists } from '../../shared/stages/store-json.js';

export interface AggregateRecordDeps {
  readonly store: BlobStore;
  readonly logger: Logger;
  /**
   * The job's event channel: EventBridge (and webhooks), or, for a job with enrichments, the enrich hand-off
   * in place of `job.completed` (`handedOff()` is then true and the enricher owns the end of the job).
   */
  readonly events: (jobId: string) => Promise<{ readonly notifier: Notifier; handedOff(): boolean }>;
  /** The drop folder's publish-and-move (idempotent; a no-op for other jobs). */
  readonly finalizeDrop: (jobId: string) => Promise<unknown>;
}

/**
 * Aggregate a job, or finish the end of one a crash interrupted. SQS delivers at least once and the fan-in
 * may hand a job off twice, so a hand-off for a finished job is dropped, unless its status still holds an
 * outbox (the previous run died between the status and the event): then the event goes out now.
 * Returns the transcript when this call aggregated the job.
 */
export async function aggregateRecord(jobId: string, deps: AggregateRecordDeps): Promise<Transcript | undefined> {
  const status = await readJsonIfExists<StoredStatus>(deps.store, jobKeys(jobId).status);
  if (isTerminal(status) && status?.outbox === undefined) {
    // The run that ended the job may have died between clearing the outbox and removing the job's `running/`
    // entry: remove it (idempotent), so a finished job never stays listed as running until the next sweep.
    await deps.store.delete(jobKeys(jobId).running);
    deps.logger.info('job already finished; duplicate hand-off dropped', { jobId, state: status?.state });
    return undefined;
  }
  const events = await deps.events(jobId);
  const after = async (id: string) => {
    if (!events.handedOff()) await deps.finalizeDrop(id);
  };
  if (isTerminal(status)) {
    await flushOutbox(jobId, { store: deps.store, notifier: events.notifier, after }, status);
    deps.logger.warn('finished the end of a job an earlier run left (status written, event not sent)', { jobId, state: status?.state });
    return undefined;
  }
  const { transcript } = await aggregateJob(jobId, { store: deps.store, notifier: events.notifier, logger: deps.logger, after });
  return transcript;
}

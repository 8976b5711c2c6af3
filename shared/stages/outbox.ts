import { jobKeys } from '../core/keys.js';
import type { JobStatus } from '../core/types.js';
import type { BlobStore, JobEvent, Notifier } from '../ports.js';
import { jobAttempt, stampAttempt } from './attempt.js';
import { readJsonIfExists, writeJson, writeStatus } from './store-json.js';
import type { StageClock } from './wall-clock.js';

/** `status.json` as stored: the status, plus the events still to publish while the job's end is in flight. */
export type StoredStatus = JobStatus & { readonly outbox?: readonly JobEvent[] };

/** What ending a job needs. */
export interface JobEndDeps {
  readonly store: BlobStore;
  readonly notifier: Notifier;
  /**
   * What else the end of the job does once its events are out (the drop folder's publish-and-move).
   * Must be idempotent: it runs again when a crash interrupted the end of the job.
   */
  readonly after?: (jobId: string) => Promise<void>;
  /** Time of the status. @default the wall clock */
  readonly clock?: StageClock;
}

/**
 * End a job so that a crash between any two calls leaves something a redelivery can finish (an outbox
 * kept in `status.json`):
 * 1. the terminal status is written *with* the events still to publish (`outbox`), in one put; the job's
 *    `running/` index entry stays, so the sweeper still sees the job;
 * 2. the events are published, then `after` runs;
 * 3. the status is rewritten without the outbox and the index entry is removed.
 * Every handler that finds a terminal status with an outbox finishes it (`flushOutbox`) instead of dropping
 * its message as a duplicate; the sweeper does too for an outbox older than the longest invocation.
 * So terminal events are at-least-once: a crash after a publish and before step 3 publishes again, with
 * the same `eventId` (`webhookIdOf`), which receivers use to drop the repeat. The job's attempt (`attempt.ts`)
 * is stamped on the terminal events and the status, so a retried job's end gets ids of its own.
 */
export async function endJob(status: Omit<JobStatus, 'updatedAt'>, events: readonly JobEvent[], deps: JobEndDeps): Promise<void> {
  const attempt = await jobAttempt(deps.store, status.jobId);
  await writeStatus(deps.store, { ...status, ...(attempt > 1 ? { attempt } : {}), outbox: stampAttempt(events, attempt) }, deps.clock);
  await flushOutbox(status.jobId, deps);
}

/**
 * Finish the end of a job that a crash interrupted: publish the outbox's events, run `after`, clear the outbox.
 * False (and nothing done) when the job has no outbox pending. `status` saves the read when the caller has it.
 */
export async function flushOutbox(jobId: string, deps: JobEndDeps, status?: StoredStatus): Promise<boolean> {
  const keys = jobKeys(jobId);
  const current = status ?? (await readJsonIfExists<StoredStatus>(deps.store, keys.status));
  if (!current || current.outbox === undefined) return false;
  for (const event of current.outbox) await deps.notifier.notify(event);
  await deps.after?.(jobId);
  const { outbox: _sent, ...settled } = current;
  await writeJson(deps.store, keys.status, settled);
  await deps.store.delete(keys.running);
  return true;
}

/** True for `completed` and `failed`. */
export function isTerminal(status: Pick<JobStatus, 'state'> | undefined): boolean {
  return status?.state === 'completed' || status?.state === 'failed';
}

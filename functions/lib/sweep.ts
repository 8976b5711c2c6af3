/**
 * The sweeper's pass over the `running/` index, with its AWS clients injected (the handler builds them from
 * the environment; crash tests wrap them). See `functions/sweeper.ts`.
 */
import { jobKeys, RUNNING_PREFIX } from '../../shared/core/keys.js';
import type { BlobStore, Logger, Notifier } from '../../shared/ports.js';
import { failJob } from '../../shared/stages/fail.js';
import { flushOutbox, isTerminal, type StoredStatus } from '../../shared/stages/outbox.js';
import { readJsonIfExists } from '../../shared/stages/store-json.js';

/**
 * An outbox this old is not in flight any more (no invocation lives longer than Lambda's 15-minute limit):
 * the sweeper finishes it. Younger ones belong to a running handler or its redelivery.
 */
export const OUTBOX_GRACE_MS = 15 * 60_000;

export interface SweepDeps {
  readonly store: BlobStore;
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** The drop folder's publish-and-move (idempotent; a no-op for other jobs). */
  readonly finalizeDrop: (jobId: string) => Promise<unknown>;
  readonly now: number;
  readonly deadlineMinutes: number;
}

export interface SweepResult {
  /** Jobs failed for being past their deadline. */
  readonly failed: string[];
  /** Finished jobs whose end (event, drop folder) a crash had interrupted, completed now. */
  readonly flushed: string[];
}

/**
 * Fail every job whose status has not moved for the deadline, finish every interrupted job end older than
 * `OUTBOX_GRACE_MS`, and drop index entries that outlived their job. Safe to crash anywhere: the index entry
 * of a job is removed only once its end is complete, so the next pass sees what this one left.
 */
export async function sweepJobs(deps: SweepDeps): Promise<SweepResult> {
  const deadlineMs = deps.deadlineMinutes * 60_000;
  const failed: string[] = [];
  const flushed: string[] = [];
  const after = async (id: string) => void (await deps.finalizeDrop(id));
  for await (const key of deps.store.list(RUNNING_PREFIX)) {
    const jobId = key.slice(RUNNING_PREFIX.length);
    const status = await readJsonIfExists<StoredStatus>(deps.store, jobKeys(jobId).status);
    if (status && isTerminal(status) && status.outbox !== undefined) {
      if (deps.now - Date.parse(status.updatedAt) < OUTBOX_GRACE_MS) continue;
      await flushOutbox(jobId, { store: deps.store, notifier: deps.notifier, after }, status);
      deps.logger.warn('finished the end of a job a crash interrupted (status written, event not sent)', { jobId, state: status.state });
      flushed.push(jobId);
      continue;
    }
    if (!status || isTerminal(status)) {
      await deps.store.delete(key); // index entry outlived its job (expired or finished): repair it
      continue;
    }
    if (deps.now - Date.parse(status.updatedAt) < deadlineMs) continue;
    const reason = `job ${jobId} (${status.source}) stuck in state "${status.state}" since ${status.updatedAt}, past the ${deps.deadlineMinutes}-minute deadline; upload the file again to retry`;
    await failJob({ jobId, source: status.source, reason }, { store: deps.store, notifier: deps.notifier, logger: deps.logger, after });
    failed.push(jobId);
  }
  return { failed, flushed };
}

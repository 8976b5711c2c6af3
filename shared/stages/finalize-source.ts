import { NotFoundError } from '../core/errors.js';
import { type DropOutcome, type DropReason, type DropRef, type DropRoots, dropKeys, SIDECAR_SUFFIX } from '../core/profile-paths.js';
import type { DropArea, Logger } from '../ports.js';
import { isoTime, type StageClock } from './wall-clock.js';

/** How a dropped file's job ended, and what to publish. */
export interface FinalizeSourceInput {
  readonly drop: DropRef;
  readonly roots: DropRoots;
  readonly status: DropReason['status'];
  readonly reason?: string;
  readonly jobId?: string;
  /** For a duplicate: the source of the drop that ran the job. */
  readonly duplicateOf?: string;
  /** For a duplicate: its job failed, so this drop goes to `failed/` too. */
  readonly duplicateFailed?: boolean;
  /** Result files to publish: `[job-store key, suffix]`, suffix as in `<name>.<suffix>` (`json`, `fr.srt`, …). */
  readonly results?: readonly (readonly [from: string, suffix: string])[];
  readonly retentionDays?: number;
  /** Warnings about the input to record in the reason (truncation). */
  readonly warnings?: readonly string[];
}

/**
 * The end of a drop-folder job, the same on every runtime: publish the results under
 * `results/<profile>/<same/path>/<name>.*`, write `<outcome>/<profile>/<path>.reason.json`, then move the
 * source (and its sidecar) to `processed/…` or `failed/…`. Safe to run twice: every step overwrites, and a
 * source that is already gone counts as moved. The reason is written before the move, so a source that has
 * left the inbox always has its reason beside it.
 */
export async function finalizeSource(input: FinalizeSourceInput, deps: { readonly drop: DropArea; readonly logger: Logger; readonly clock?: StageClock }): Promise<DropReason> {
  const keys = dropKeys(input.drop, input.roots);
  const outcome: DropOutcome =
    input.status === 'failed' || (input.status === 'duplicate' && input.duplicateFailed) ? 'failed' : 'processed';
  const published: string[] = [];
  for (const [from, suffix] of input.results ?? []) {
    const to = keys.result(suffix);
    await deps.drop.publish(from, to);
    published.push(to);
  }
  const reason: DropReason = {
    status: input.status,
    ...(input.reason ? { reason: input.reason } : {}),
    profile: input.drop.profile,
    source: keys.source,
    ...(input.jobId ? { jobId: input.jobId } : {}),
    ...(input.duplicateOf ? { duplicateOf: input.duplicateOf } : {}),
    results: published,
    finishedAt: isoTime(deps.clock),
    ...(input.retentionDays ? { retentionDays: input.retentionDays } : {}),
    ...(input.warnings?.length ? { warnings: input.warnings } : {}),
  };
  await deps.drop.put(keys.reason(outcome), `${JSON.stringify(reason, null, 2)}\n`);
  await moveIfPresent(deps.drop, keys.sidecar, `${keys.moved(outcome)}${SIDECAR_SUFFIX}`);
  const moved = await moveIfPresent(deps.drop, keys.source, keys.moved(outcome));
  deps.logger.info('drop finalized', { source: keys.source, status: input.status, movedTo: keys.moved(outcome), moved, jobId: input.jobId });
  return reason;
}

/** Move `from` to `to`; false when `from` is already gone (a retry, or no sidecar). */
async function moveIfPresent(drop: DropArea, from: string, to: string): Promise<boolean> {
  try {
    await drop.move(from, to);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

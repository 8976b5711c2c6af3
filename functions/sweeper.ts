/**
 * Sweeper: runs on a schedule and fails every job whose status has not moved for the deadline
 * (a lost hand-off, a crashed claim winner, a message deleted by hand), so no job stays "running";
 * it also finishes job ends a crash interrupted (a status outbox older than 15 minutes: event not sent).
 *
 * It lists the `running/` index (one key per unfinished job, kept by `writeStatus`) and reads those jobs'
 * `status.json`: O(running jobs), however many finished jobs the bucket holds. The logic is `lib/sweep.ts`.
 */
import { createS3DropArea } from '../shared/adapters/s3-drop-area.js';
import { finalizeDropJob } from '../shared/stages/drop-job.js';
import { bucketStore, eventBridgeNotifier, observability, portLogger, flushMetrics, s3Client } from './lib/aws.js';
import { parseEnv, SweeperEnv } from './lib/env.js';
import { sweepJobs } from './lib/sweep.js';

const env = parseEnv(SweeperEnv);
const { logger, metrics } = observability(env);
const store = bucketStore(env);
const notifier = eventBridgeNotifier(env);
const dropArea = createS3DropArea({ client: s3Client(env), bucket: env.VOXPIPE_BUCKET });

/** Returns the ids of the jobs it failed and of those whose interrupted end it finished. */
export const handler = async (): Promise<{ failed: string[]; flushed: string[] }> => {
  try {
    const result = await sweepJobs({
      store,
      notifier,
      logger: portLogger(logger),
      finalizeDrop: (jobId) => finalizeDropJob(jobId, { store, drop: dropArea, logger: portLogger(logger) }),
      now: Date.now(),
      deadlineMinutes: env.VOXPIPE_JOB_DEADLINE_MINUTES,
    });
    metrics.addMetric('JobsSwept', 'Count', result.failed.length);
    if (result.flushed.length > 0) metrics.addMetric('JobEndsFinished', 'Count', result.flushed.length);
    return result;
  } finally {
    flushMetrics(metrics);
  }
};

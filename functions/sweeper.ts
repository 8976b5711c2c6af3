/**
 * Sweeper: runs on a schedule and fails every job whose status has not moved for the deadline
 * (a lost hand-off, a crashed claim winner, a message deleted by hand), so no job stays "running".
 *
 * It lists the `running/` index (one key per unfinished job, kept by `writeStatus`) and reads those jobs'
 * `status.json`: O(running jobs), however many finished jobs the bucket holds.
 */
import { jobKeys, RUNNING_PREFIX } from '../shared/core/keys.js';
import type { JobStatus } from '../shared/core/types.js';
import { createS3DropArea } from '../shared/adapters/s3-drop-area.js';
import { finalizeDropJob } from '../shared/stages/drop-job.js';
import { failJob } from '../shared/stages/fail.js';
import { readJsonIfExists } from '../shared/stages/store-json.js';
import { bucketStore, eventBridgeNotifier, observability, portLogger, flushMetrics, s3Client } from './lib/aws.js';
import { parseEnv, SweeperEnv } from './lib/env.js';

const env = parseEnv(SweeperEnv);
const { logger, metrics } = observability();
const store = bucketStore(env);
const deps = { store, notifier: eventBridgeNotifier(env), logger: portLogger(logger) };
const dropArea = createS3DropArea({ client: s3Client(env), bucket: env.VOXPIPE_BUCKET });
const TERMINAL = new Set(['completed', 'failed']);

/** Returns the ids of the jobs it failed (handy in tests and in the invocation log). */
export const handler = async (): Promise<{ failed: string[] }> => {
  const deadlineMs = env.VOXPIPE_JOB_DEADLINE_MINUTES * 60_000;
  const now = Date.now();
  const failed: string[] = [];
  try {
    for await (const key of store.list(RUNNING_PREFIX)) {
      const jobId = key.slice(RUNNING_PREFIX.length);
      const status = await readJsonIfExists<JobStatus>(store, jobKeys(jobId).status);
      if (!status || TERMINAL.has(status.state)) {
        await store.delete(key); // index entry outlived its job (expired or finished): repair it
        continue;
      }
      if (now - Date.parse(status.updatedAt) < deadlineMs) continue;
      const reason = `job ${jobId} (${status.source}) stuck in state "${status.state}" since ${status.updatedAt}, past the ${env.VOXPIPE_JOB_DEADLINE_MINUTES}-minute deadline; upload the file again to retry`;
      await failJob({ jobId, source: status.source, reason }, deps);
      // A drop-folder job's source moves to failed/ with this reason.
      await finalizeDropJob(jobId, { store, drop: dropArea, logger: deps.logger });
      failed.push(jobId);
    }
    metrics.addMetric('JobsSwept', 'Count', failed.length);
    return { failed };
  } finally {
    flushMetrics(metrics);
  }
};

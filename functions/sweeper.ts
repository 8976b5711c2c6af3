/**
 * Sweeper: runs on a schedule and fails every job whose status has not moved for the deadline
 * (a lost hand-off, a crashed claim winner, a message deleted by hand), so no job stays "running".
 *
 * It lists `jobs/` and reads each `status.json`: O(objects under jobs/), bounded by the lifecycle rule
 * that expires `jobs/` after `retentionDays`. A jobs index would make it O(running jobs) if that grows.
 */
import { jobKeys } from '../shared/core/keys.js';
import type { JobStatus } from '../shared/core/types.js';
import { failJob } from '../shared/stages/fail.js';
import { readJson } from '../shared/stages/store-json.js';
import { bucketStore, eventBridgeNotifier, observability, portLogger, flushMetrics } from './lib/aws.js';
import { parseEnv, SweeperEnv } from './lib/env.js';

const env = parseEnv(SweeperEnv);
const { logger, metrics } = observability();
const store = bucketStore(env);
const deps = { store, notifier: eventBridgeNotifier(env), logger: portLogger(logger) };
const TERMINAL = new Set(['completed', 'failed']);

/** Returns the ids of the jobs it failed (handy in tests and in the invocation log). */
export const handler = async (): Promise<{ failed: string[] }> => {
  const deadlineMs = env.VOXPIPE_JOB_DEADLINE_MINUTES * 60_000;
  const now = Date.now();
  const failed: string[] = [];
  try {
    for await (const key of store.list('jobs/')) {
      if (!key.endsWith('/status.json')) continue;
      const status = await readJson<JobStatus>(store, key);
      if (TERMINAL.has(status.state) || now - Date.parse(status.updatedAt) < deadlineMs) continue;
      if (key !== jobKeys(status.jobId).status) continue;
      const reason = `job ${status.jobId} (${status.source}) stuck in state "${status.state}" since ${status.updatedAt}, past the ${env.VOXPIPE_JOB_DEADLINE_MINUTES}-minute deadline; upload the file again to retry`;
      await failJob({ jobId: status.jobId, source: status.source, reason }, deps);
      failed.push(status.jobId);
    }
    metrics.addMetric('JobsSwept', 'Count', failed.length);
    return { failed };
  } finally {
    flushMetrics(metrics);
  }
};

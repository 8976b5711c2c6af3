/**
 * A job's attempt: 1 for its first run, n + 1 once `POST /jobs/{id}/retry` restarted it for the n-th time.
 * The job API writes it into `jobs/<jobId>/request.json` (`attempt`) before it restarts the job; every stage
 * that ends a job stamps the attempt on the terminal event, so each attempt's `job.completed` / `job.failed`
 * has its own stable `webhook-id` / `eventId` (job id + type + attempt), while a crash redelivery of the same
 * attempt raises the same id again (receivers and the AWS webhook function dedupe on it).
 */
import { jobKeys } from '../core/keys.js';
import type { BlobStore, JobEvent } from '../ports.js';
import { readJsonIfExists } from './store-json.js';

/** `jobs/<jobId>/request.json`: the job API's request for the pipeline (options, webhook, attempt). */
export const jobRequestKey = (jobId: string): string => jobKeys(jobId).request;

/** The job's current attempt (1 when the job was never retried, or was not started by the job API). */
export async function jobAttempt(store: BlobStore, jobId: string): Promise<number> {
  const request = await readJsonIfExists<{ readonly attempt?: unknown }>(store, jobRequestKey(jobId));
  const attempt = request?.attempt;
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt > 1 ? attempt : 1;
}

/** `events` with `attempt` on the terminal ones (first attempts carry none: their ids stay what they always were). */
export function stampAttempt(events: readonly JobEvent[], attempt: number): JobEvent[] {
  if (attempt <= 1) return [...events];
  return events.map((e) => (e.type === 'job.completed' || e.type === 'job.failed' ? { ...e, attempt } : e));
}

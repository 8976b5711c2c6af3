/**
 * Aggregator Lambda: `{ jobId }` messages from the aggregate queue (sent by the fan-in winner) →
 * aggregate stage: stitched transcript under `results/<jobId>/`, status, EventBridge event (and the
 * webhook queue, when the stack has webhooks).
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { jobKeys } from '../shared/core/keys.js';
import type { JobStatus } from '../shared/core/types.js';
import { createS3DropArea } from '../shared/adapters/s3-drop-area.js';
import { aggregateJob } from '../shared/stages/aggregate.js';
import { finalizeDropJob } from '../shared/stages/drop-job.js';
import { readJsonIfExists } from '../shared/stages/store-json.js';
import { bucketStore, flushMetrics, jobNotifier, observability, portLogger, s3Client, sqsClient } from './lib/aws.js';
import { enrichHandoff } from './lib/enricher-handoff.js';
import { AggregatorEnv, EnrichHandoffEnv, parseEnv } from './lib/env.js';
import { jsonBody, processSqsBatch } from './lib/sqs-batch.js';

const env = parseEnv(AggregatorEnv);
const { logger, metrics } = observability();
const store = bucketStore(env);
/** The drop folder: a job from `inbox/<profile>/…` publishes its results and moves its source at the end. */
const dropArea = createS3DropArea({ client: s3Client(env), bucket: env.VOXPIPE_BUCKET });
const notifier = jobNotifier(env);
const retry = { sqs: sqsClient(), baseSeconds: env.VOXPIPE_RETRY_BASE_SECONDS };
/** Jobs that ask for enrichments end at the enricher: their `job.completed` becomes its hand-off. */
const enrich = enrichHandoff({ store, notifier, sqs: retry.sqs, queueUrl: parseEnv(EnrichHandoffEnv).VOXPIPE_ENRICH_QUEUE_URL, logger: portLogger(logger) });

/** The hand-off message: which job is ready. */
export const AggregateMessage = z.object({ jobId: z.string().min(1) });

export const handler = async (event: SQSEvent) => {
  try {
    return await processSqsBatch(event, aggregateRecord, logger, retry);
  } finally {
    flushMetrics(metrics);
  }
};

async function aggregateRecord(record: SQSRecord): Promise<void> {
  const { jobId } = AggregateMessage.parse(jsonBody(record));
  const log = logger.createChild({ persistentKeys: { jobId } });
  // SQS delivers at least once: a redelivered hand-off for a finished job must not send a second event.
  const status = await readStatus(jobId);
  if (status?.state === 'completed' || status?.state === 'failed') {
    log.info('job already finished; duplicate hand-off dropped', { state: status.state });
    if (status.state === 'completed' && (await enrich.resume(jobId))) return;
    // An earlier attempt may have died between the status and the drop folder's move: finish that (idempotent).
    await finalizeDropJob(jobId, { store, drop: dropArea, logger: portLogger(log) });
    return;
  }
  const events = await enrich.forJob(jobId);
  const { transcript } = await aggregateJob(jobId, { store, notifier: events.notifier, logger: portLogger(log) });
  if (!events.handedOff()) await finalizeDropJob(jobId, { store, drop: dropArea, logger: portLogger(log) });
  metrics.addMetric(transcript.status === 'completed' ? 'JobsCompleted' : 'JobsFailed', 'Count', 1);
  metrics.addMetric('TranscribedAudioSeconds', 'Seconds', transcript.usage.audioSeconds);
  if (transcript.usage.costUsd !== undefined) metrics.addMetric('ModelCostMicroUsd', 'Count', Math.round(transcript.usage.costUsd * 1e6));
}

function readStatus(jobId: string): Promise<JobStatus | undefined> {
  return readJsonIfExists<JobStatus>(store, jobKeys(jobId).status);
}

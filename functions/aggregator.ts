/**
 * Aggregator Lambda: `{ jobId }` messages from the aggregate queue (sent by the fan-in winner) →
 * aggregate stage: stitched transcript under `results/<jobId>/`, status, EventBridge event (and the
 * webhook queue, when the stack has webhooks). Status and event go through the status outbox, so a
 * redelivery after a crash sends the event the crash held back (`lib/aggregate-record.ts`).
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { JobReadyMessage } from '../shared/core/messages.js';
import { createS3DropArea } from '../shared/adapters/s3-drop-area.js';
import { finalizeDropJob } from '../shared/stages/drop-job.js';
import { aggregateRecord } from './lib/aggregate-record.js';
import { bucketStore, flushMetrics, jobNotifier, observability, portLogger, s3Client, sqsClient } from './lib/aws.js';
import { enrichHandoff } from './lib/enricher-handoff.js';
import { AggregatorEnv, EnrichHandoffEnv, parseEnv } from './lib/env.js';
import { jsonBody, processSqsBatch } from './lib/sqs-batch.js';

const env = parseEnv(AggregatorEnv);
const { logger, metrics } = observability(env);
const store = bucketStore(env);
/** The drop folder: a job from `inbox/<profile>/…` publishes its results and moves its source at the end. */
const dropArea = createS3DropArea({ client: s3Client(env), bucket: env.VOXPIPE_BUCKET });
const notifier = jobNotifier(env);
const retry = { sqs: sqsClient(), baseSeconds: env.VOXPIPE_RETRY_BASE_SECONDS };
/** Jobs that ask for enrichments end at the enricher: their `job.completed` becomes its hand-off. */
const enrich = enrichHandoff({ store, notifier, sqs: retry.sqs, queueUrl: parseEnv(EnrichHandoffEnv).VOXPIPE_ENRICH_QUEUE_URL, logger: portLogger(logger) });

export const handler = async (event: SQSEvent) => {
  try {
    return await processSqsBatch(event, handleRecord, logger, retry);
  } finally {
    flushMetrics(metrics);
  }
};

async function handleRecord(record: SQSRecord): Promise<void> {
  const { jobId } = JobReadyMessage.parse(jsonBody(record));
  const log = portLogger(logger.createChild({ persistentKeys: { jobId } }));
  const transcript = await aggregateRecord(jobId, {
    store,
    logger: log,
    events: (id) => enrich.forJob(id),
    finalizeDrop: (id) => finalizeDropJob(id, { store, drop: dropArea, logger: log }),
  });
  if (!transcript) return;
  metrics.addMetric(transcript.status === 'completed' ? 'JobsCompleted' : 'JobsFailed', 'Count', 1);
  metrics.addMetric('TranscribedAudioSeconds', 'Seconds', transcript.usage.audioSeconds);
  if (transcript.usage.costUsd !== undefined) metrics.addMetric('ModelCostMicroUsd', 'Count', Math.round(transcript.usage.costUsd * 1e6));
}

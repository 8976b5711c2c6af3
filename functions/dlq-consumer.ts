/**
 * DLQ consumer: every dead-lettered message ends its job, with a reason, instead of leaving it "running".
 * - split DLQ (an S3 notification): the upload could not be split → `failJob`;
 * - work DLQ (a chunk task): recorded as a failed chunk result, then the normal fan-in/aggregation fails the
 *   job with every chunk's outcome (`recordDeadChunk`);
 * - aggregate DLQ (`{ jobId }`): aggregation kept failing → `failJob`.
 * A job already completed or failed is left alone, unless a crash interrupted its end (status outbox).
 * The logic is `lib/dead-letter-record.ts`.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { defaultModelOf } from '../shared/providers/registry.js';
import { createS3DropArea } from '../shared/adapters/s3-drop-area.js';
import { finalizeDropJob } from '../shared/stages/drop-job.js';
import { aggregateHandoff, bucketStore, eventBridgeNotifier, observability, portLogger, s3Client, sqsClient, flushMetrics } from './lib/aws.js';
import { type DeadLetterDeps, deadLetterRecord } from './lib/dead-letter-record.js';
import { DlqConsumerEnv, parseEnv } from './lib/env.js';
import { processSqsBatch } from './lib/sqs-batch.js';

const env = parseEnv(DlqConsumerEnv);
const { logger, metrics } = observability(env);
const store = bucketStore(env);
const notifier = eventBridgeNotifier(env);
const model = env.VOXPIPE_MODEL ?? defaultModelOf(env.VOXPIPE_PROVIDER);
const sqs = sqsClient();
const dropArea = createS3DropArea({ client: s3Client(env), bucket: env.VOXPIPE_BUCKET });

const deps: DeadLetterDeps = {
  store,
  notifier,
  logger: portLogger(logger),
  onJobReady: aggregateHandoff(sqs, env.VOXPIPE_AGGREGATE_QUEUE_URL),
  finalizeDrop: (jobId) => finalizeDropJob(jobId, { store, drop: dropArea, logger: portLogger(logger) }),
  provider: env.VOXPIPE_PROVIDER,
  model,
};

export const handler = async (event: SQSEvent) => {
  try {
    return await processSqsBatch(event, deadLetter, logger, { sqs, baseSeconds: env.VOXPIPE_RETRY_BASE_SECONDS });
  } finally {
    flushMetrics(metrics);
  }
};

async function deadLetter(record: SQSRecord): Promise<void> {
  metrics.addMetric('DeadLetters', 'Count', 1);
  await deadLetterRecord(record, deps);
}

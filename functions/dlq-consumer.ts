/**
 * DLQ consumer: every dead-lettered message ends its job, with a reason, instead of leaving it "running".
 * - split DLQ (an S3 notification): the upload could not be split → `failJob`;
 * - work DLQ (a chunk task): recorded as a failed chunk result, then the normal fan-in/aggregation fails the
 *   job with every chunk's outcome (`recordDeadChunk`);
 * - aggregate DLQ (`{ jobId }`): aggregation kept failing → `failJob`.
 * A job already completed or failed is left alone.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { jobKeys } from '../shared/core/keys.js';
import type { JobStatus } from '../shared/core/types.js';
import { DEFAULT_MODELS } from '../shared/providers/index.js';
import { recordDeadChunk } from '../shared/stages/dead-letter.js';
import { createS3DropArea } from '../shared/adapters/s3-drop-area.js';
import { finalizeDropJob } from '../shared/stages/drop-job.js';
import { failJob } from '../shared/stages/fail.js';
import { readJsonIfExists } from '../shared/stages/store-json.js';
import { aggregateHandoff, bucketStore, eventBridgeNotifier, observability, portLogger, s3Client, sqsClient, flushMetrics } from './lib/aws.js';
import { DlqConsumerEnv, parseEnv } from './lib/env.js';
import { uploadJobId, uploadsOf } from './lib/s3-event.js';
import { jsonBody, processSqsBatch } from './lib/sqs-batch.js';

const env = parseEnv(DlqConsumerEnv);
const { logger, metrics } = observability();
const store = bucketStore(env);
const notifier = eventBridgeNotifier(env);
const model = env.VOXPIPE_MODEL ?? (env.VOXPIPE_PROVIDER === 'offline' ? 'pocketsphinx-en-us' : DEFAULT_MODELS[env.VOXPIPE_PROVIDER]);
const sqs = sqsClient();
const deadChunkDeps = { store, onJobReady: aggregateHandoff(sqs, env.VOXPIPE_AGGREGATE_QUEUE_URL), provider: env.VOXPIPE_PROVIDER, model };
const failDeps = { store, notifier, logger: portLogger(logger) };
const dropArea = createS3DropArea({ client: s3Client(env), bucket: env.VOXPIPE_BUCKET });

const ChunkTaskMessage = z.object({
  jobId: z.string().min(1),
  index: z.number().int().min(0),
  start: z.number(),
  end: z.number(),
  audioKey: z.string(),
  language: z.string().optional(),
  words: z.boolean(),
  diarize: z.boolean(),
});
const AggregateMessage = z.object({ jobId: z.string().min(1) }).strict();

export const handler = async (event: SQSEvent) => {
  try {
    return await processSqsBatch(event, deadLetter, logger, { sqs, baseSeconds: env.VOXPIPE_RETRY_BASE_SECONDS });
  } finally {
    flushMetrics(metrics);
  }
};

async function deadLetter(record: SQSRecord): Promise<void> {
  metrics.addMetric('DeadLetters', 'Count', 1);
  const body = jsonBody(record);
  const receives = record.attributes.ApproximateReceiveCount;

  const chunk = ChunkTaskMessage.safeParse(body);
  if (chunk.success) {
    const task = chunk.data;
    logger.error('chunk dead-lettered', { jobId: task.jobId, chunk: task.index });
    await recordDeadChunk(task, 'the transcriber failed on every delivery (see its logs for the errors); re-upload the file to retry', deadChunkDeps);
    return;
  }
  const aggregate = AggregateMessage.safeParse(body);
  if (aggregate.success) {
    const { jobId } = aggregate.data;
    await failIfRunning(jobId, `job ${jobId}: aggregation failed repeatedly (see the aggregator logs); re-upload the file to retry`);
    return;
  }
  // Anything else must be an S3 notification; a parse error here keeps the message in the DLQ, where the alarm shows it.
  for (const upload of uploadsOf(body)) {
    const source = `s3://${upload.bucket}/${upload.key}`;
    const jobId = uploadJobId(upload);
    await failIfRunning(jobId, `${source}: splitting failed ${receives ?? 'several'} times (see the splitter logs); check the file plays, then upload it again`, source);
  }
}

async function failIfRunning(jobId: string, reason: string, source?: string): Promise<void> {
  const status = await readStatus(jobId);
  if (status && (status.state === 'completed' || status.state === 'failed')) {
    logger.info('dead letter for a finished job ignored', { jobId, state: status.state });
    return;
  }
  await failJob({ jobId, source: status?.source ?? source ?? jobId, reason }, failDeps);
  // A drop-folder job's source moves to failed/ with this reason.
  await finalizeDropJob(jobId, { store, drop: dropArea, logger: failDeps.logger });
}

function readStatus(jobId: string): Promise<JobStatus | undefined> {
  return readJsonIfExists<JobStatus>(store, jobKeys(jobId).status);
}

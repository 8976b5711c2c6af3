/**
 * Aggregator Lambda: `{ jobId }` messages from the aggregate queue (sent by the fan-in winner) →
 * aggregate stage: stitched transcript under `results/<jobId>/`, status, EventBridge event.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { jobKeys } from '../shared/core/keys.js';
import type { JobStatus } from '../shared/core/types.js';
import { aggregateJob } from '../shared/stages/aggregate.js';
import { readJsonIfExists } from '../shared/stages/store-json.js';
import { bucketStore, eventBridgeNotifier, flushMetrics, observability, portLogger, sqsClient } from './lib/aws.js';
import { AggregatorEnv, parseEnv } from './lib/env.js';
import { jsonBody, processSqsBatch } from './lib/sqs-batch.js';

const env = parseEnv(AggregatorEnv);
const { logger, metrics } = observability();
const store = bucketStore(env);
const notifier = eventBridgeNotifier(env);
const retry = { sqs: sqsClient(), baseSeconds: env.VOXPIPE_RETRY_BASE_SECONDS };

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
    return;
  }
  const { transcript } = await aggregateJob(jobId, { store, notifier, logger: portLogger(log) });
  metrics.addMetric(transcript.status === 'completed' ? 'JobsCompleted' : 'JobsFailed', 'Count', 1);
  metrics.addMetric('TranscribedAudioSeconds', 'Seconds', transcript.usage.audioSeconds);
  if (transcript.usage.costUsd !== undefined) metrics.addMetric('ModelCostMicroUsd', 'Count', Math.round(transcript.usage.costUsd * 1e6));
}

function readStatus(jobId: string): Promise<JobStatus | undefined> {
  return readJsonIfExists<JobStatus>(store, jobKeys(jobId).status);
}

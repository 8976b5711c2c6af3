/**
 * Transcriber Lambda: chunk messages from the work queue → transcribe stage (one model call per chunk).
 * The fan-in winner hands the job to the aggregate queue. Rate limits are waited out through the queue
 * (see `deferOnRateLimit`) instead of failing deliveries.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage, TransientError } from '../shared/core/errors.js';
import { ChunkTaskMessage } from '../shared/core/messages.js';
import type { ChunkTask } from '../shared/core/types.js';
import type { Transcriber } from '../shared/ports.js';
import { createCallPolicy } from '../shared/providers/call-policy.js';
import { createTranscriber } from '../shared/providers/index.js';
import { transcribeChunk } from '../shared/stages/transcribe.js';
import { aggregateHandoff, bucketStore, observability, portLogger, sqsClient, flushMetrics } from './lib/aws.js';
import { parseEnv, TranscriberEnv } from './lib/env.js';
import { jsonBody, processSqsBatch } from './lib/sqs-batch.js';
import { readApiKeySecret } from './lib/api-key-secret.js';

const env = parseEnv(TranscriberEnv);
const { logger, metrics } = observability(env);
const sqs = sqsClient();
const store = bucketStore(env);
const onJobReady = aggregateHandoff(sqs, env.VOXPIPE_AGGREGATE_QUEUE_URL);
const noProgress = { notify: async () => undefined };
// One container handles one record at a time, so one slot: the fleet-wide cap is the ESM's maxConcurrency.
const policy = createCallPolicy({
  concurrency: 1,
  maxAttempts: env.VOXPIPE_MAX_ATTEMPTS,
  timeoutMs: env.VOXPIPE_ATTEMPT_TIMEOUT_SECONDS * 1000,
  maxDelayMs: 10_000,
  maxRetryAfterMs: env.VOXPIPE_MAX_INLINE_WAIT_SECONDS * 1000,
  onRetry: (info) => {
    metrics.addMetric('ProviderRetries', 'Count', 1);
    logger.warn('provider call retried', { label: info.label, attempt: info.attempt, delayMs: info.delayMs, error: info.error.message });
  },
});
let transcriber: Promise<Transcriber> | undefined;
const retry = { sqs, baseSeconds: env.VOXPIPE_RETRY_BASE_SECONDS };

/** Message attribute counting rate-limit deferrals of a chunk (re-sent copies start a fresh receive count). */
const DEFERRALS = 'voxpipe-deferrals';

export const handler = async (event: SQSEvent) => {
  try {
    return await processSqsBatch(event, transcribeRecord, logger, retry);
  } finally {
    flushMetrics(metrics);
  }
};

async function transcribeRecord(record: SQSRecord): Promise<void> {
  const task: ChunkTask = ChunkTaskMessage.parse(jsonBody(record));
  const log = logger.createChild({ persistentKeys: { jobId: task.jobId, chunk: task.index } });
  const started = Date.now();
  try {
    const outcome = await transcribeChunk(task, {
      store,
      transcriber: await transcriberOnce(),
      policy,
      logger: portLogger(log),
      notifier: noProgress,
      onJobReady,
    });
    if (outcome === 'done') {
      metrics.addMetric('ChunkLatency', 'Milliseconds', Date.now() - started);
      metrics.addMetric('AudioSeconds', 'Seconds', task.end - task.start);
    }
  } catch (err) {
    if (err instanceof TransientError && err.rateLimited && (await deferOnRateLimit(record, err))) {
      metrics.addMetric('RateLimitDeferrals', 'Count', 1);
      log.warn('rate limited: chunk deferred through the queue', { retryAfterMs: err.retryAfterMs, error: errorMessage(err) });
      return;
    }
    throw err;
  }
}

/**
 * A rate limit is not a failure of the chunk, so it must not count towards the DLQ's maxReceiveCount.
 * Changing the visibility alone would not do that: SQS counts every receive, so the redelivery still
 * increments ApproximateReceiveCount. Instead a copy is sent with `DelaySeconds` = Retry-After (≤ 15 min,
 * SQS's maximum) and the original is reported done; the copy starts with a fresh receive count and carries
 * a deferral counter, so an endless rate limit still ends in the DLQ after `VOXPIPE_MAX_DEFERRALS`.
 * If the copy is sent but the original's delete is lost, the chunk runs twice: harmless, results are per chunk key.
 */
async function deferOnRateLimit(record: SQSRecord, err: TransientError): Promise<boolean> {
  const deferrals = Number(record.messageAttributes[DEFERRALS]?.stringValue ?? '0');
  if (deferrals >= env.VOXPIPE_MAX_DEFERRALS) return false;
  const delaySeconds = Math.min(900, Math.max(1, Math.ceil((err.retryAfterMs ?? 30_000) / 1000)));
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: env.VOXPIPE_WORK_QUEUE_URL,
      MessageBody: record.body,
      DelaySeconds: delaySeconds,
      MessageAttributes: { [DEFERRALS]: { DataType: 'Number', StringValue: String(deferrals + 1) } },
    }),
  );
  return true;
}

/** Built on first use; a failed build (secret unreadable) is retried by the next record. */
function transcriberOnce(): Promise<Transcriber> {
  transcriber ??= buildTranscriber().catch((err: unknown) => {
    transcriber = undefined;
    throw err;
  });
  return transcriber;
}

/** The provider, with its key read from Secrets Manager once per container (never from the environment). */
async function buildTranscriber(): Promise<Transcriber> {
  const apiKey = env.VOXPIPE_API_KEY_SECRET_ARN ? await readApiKeySecret(new SecretsManagerClient({}), env.VOXPIPE_API_KEY_SECRET_ARN, 'provider API key') : undefined;
  return createTranscriber({ provider: env.VOXPIPE_PROVIDER, model: env.VOXPIPE_MODEL, baseUrl: env.VOXPIPE_BASE_URL, apiKey });
}

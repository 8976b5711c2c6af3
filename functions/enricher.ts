/**
 * Enricher Lambda: `{ jobId }` messages from the enrich queue → enrich stage. The aggregator sends them instead
 * of `job.completed` when the job's options (stack defaults, drop-folder profile, job API) ask for translations,
 * a summary, an extraction or a question. Runs them with the chat model the environment names, writes each
 * result as its own object under `results/<jobId>/`, extends `transcript.json`, then sends the job's
 * `job.completed` with `enrichment` (per part `ok` / `failed` with its reason) and, for a drop-folder job,
 * publishes the results and moves the source. A failed part never fails the job: the transcript stands.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { EnrichMessage } from '../shared/core/messages.js';
import { createS3DropArea } from '../shared/adapters/s3-drop-area.js';
import { errorMessage } from '../shared/core/errors.js';
import { RESULT_FORMATS } from '../shared/core/formats.js';
import { jobKeys } from '../shared/core/keys.js';
import type { JobManifest } from '../shared/core/types.js';
import type { ChatModel, EnrichmentOutcome, Logger } from '../shared/ports.js';
import { createCallPolicy } from '../shared/providers/call-policy.js';
import { finalizeDropJob } from '../shared/stages/drop-job.js';
import { type EnrichOptions, enrichJob } from '../shared/stages/enrich.js';
import { readJson } from '../shared/stages/store-json.js';
import { bucketStore, flushMetrics, jobNotifier, observability, portLogger, s3Client, sqsClient } from './lib/aws.js';
import { chatModelFromEnv } from './lib/enricher-chat.js';
import { endEnrichedJob, finishRecordedEnrichment } from './lib/enricher-finish.js';
import { enrichmentOutcome, failedOutcome } from './lib/enricher-outcome.js';
import { EnricherEnv, parseEnv } from './lib/env.js';
import { jsonBody, processSqsBatch } from './lib/sqs-batch.js';

const env = parseEnv(EnricherEnv);
const { logger, metrics } = observability(env);
const sqs = sqsClient();
const store = bucketStore(env);
const dropArea = createS3DropArea({ client: s3Client(env), bucket: env.VOXPIPE_BUCKET });
const notifier = jobNotifier(env);
const chat = chatModelFromEnv(env);
// The same call policy as transcription: retries with backoff for 429/5xx/timeouts, Retry-After honoured,
// a cap on calls in flight. Fleet-wide: VOXPIPE_CHAT_CONCURRENCY × the event source's maxConcurrency.
const policy = createCallPolicy({
  concurrency: env.VOXPIPE_CHAT_CONCURRENCY,
  maxAttempts: env.VOXPIPE_MAX_ATTEMPTS,
  timeoutMs: env.VOXPIPE_ATTEMPT_TIMEOUT_SECONDS * 1000,
  maxDelayMs: 10_000,
  maxRetryAfterMs: env.VOXPIPE_MAX_INLINE_WAIT_SECONDS * 1000,
  onRetry: (info) => {
    metrics.addMetric('ChatRetries', 'Count', 1);
    logger.warn('chat call retried', { label: info.label, attempt: info.attempt, delayMs: info.delayMs, error: info.error.message });
  },
});
const retry = { sqs, baseSeconds: env.VOXPIPE_RETRY_BASE_SECONDS };


export const handler = async (event: SQSEvent) => {
  try {
    return await processSqsBatch(event, enrichRecord, logger, retry);
  } finally {
    flushMetrics(metrics);
  }
};

async function enrichRecord(record: SQSRecord): Promise<void> {
  const { jobId } = EnrichMessage.parse(jsonBody(record));
  const log = portLogger(logger.createChild({ persistentKeys: { jobId } }));
  // SQS delivers at least once: a redelivery after the record was written finishes its publish (if a crash cut
  // it short) and runs nothing again (functions/lib/enricher-finish.ts).
  if (await finishRecordedEnrichment(jobId, { store, notifier })) {
    log.info('enrichment already finished; duplicate hand-off dropped');
    await finalizeDropJob(jobId, { store, drop: dropArea, logger: log });
    return;
  }
  const keys = jobKeys(jobId);
  const manifest = await readJson<JobManifest>(store, keys.manifest);
  const { translate, summary, extract, ask } = manifest.options;
  const lastReceive = Number(record.attributes.ApproximateReceiveCount || '1') >= env.VOXPIPE_ENRICH_MAX_RECEIVES;
  const { outcome, written } = await enrich(jobId, { translate, summary, extract, ask }, log, lastReceive);

  const resultKeys = [...RESULT_FORMATS.map((ext) => keys.result(ext)), ...written];
  // The record first (with the event as its outbox), the event after: never an event pointing at nothing.
  await endEnrichedJob({ type: 'job.completed', jobId, source: manifest.source, resultKeys }, outcome, { store, notifier });
  await finalizeDropJob(jobId, { store, drop: dropArea, logger: log });
  metrics.addMetric('JobsEnriched', 'Count', 1);
  const failedParts = Object.values(outcome.parts).filter((p) => p.status === 'failed').length;
  if (failedParts > 0) metrics.addMetric('EnrichmentPartsFailed', 'Count', failedParts);
}

/**
 * Run the enrich stage. Parts fail on their own inside it; what escapes (the chat key unreadable, S3 errors)
 * is retried through the queue, and on the last receive the job completes with every part failed instead of
 * going to the DLQ without its final event.
 */
async function enrich(
  jobId: string,
  options: EnrichOptions,
  log: Logger,
  lastReceive: boolean,
): Promise<{ outcome: EnrichmentOutcome; written: readonly string[] }> {
  let model: ChatModel | undefined;
  let noChatReason: string | undefined;
  try {
    model = await chat();
  } catch (err) {
    if (!lastReceive) throw err;
    noChatReason = `no chat model: ${errorMessage(err)}`;
  }
  try {
    const out = await enrichJob(jobId, options, { store, chat: model, noChatReason, policy, logger: log });
    return { outcome: enrichmentOutcome(out.transcript), written: out.resultKeys };
  } catch (err) {
    if (!lastReceive) throw err;
    log.error('enrichment failed on its last receive; completing the job without it', { error: errorMessage(err) });
    return { outcome: failedOutcome(options, `enrichment failed after ${env.VOXPIPE_ENRICH_MAX_RECEIVES} attempts: ${errorMessage(err)}`), written: [] };
  }
}
